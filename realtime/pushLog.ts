/**
 * The resume log: every push is appended to a capped Redis Stream (`realtime:log`) and published on
 * the `realtime` channel in one atomic step (a Lua script), so the stream order is the channel order
 * on every replica and the channel message carries the stream entry id (`seq`). A push id maps to
 * its entry (`realtime:log:id:<push id>`, same TTL as the stream's retention), which is how a
 * client resuming from "the last push id I saw" is placed in the stream (realtime/server.ts).
 *
 * Retention is bounded twice: entries older than REALTIME_RESUME_RETENTION_SECONDS are trimmed
 * (MINID, the stream ids are millisecond times) and at most REALTIME_RESUME_MAX_PUSHES are kept
 * (MAXLEN ~). A repeat of the very same push (same id and same content: the notifier crashed between
 * its publish and its commit) is neither logged nor published again.
 *
 * Hand-written: the script (ioredis has no "append + index + publish" primitive) and the in-process
 * copy for the memory adapter (single process, PGlite mode).
 */
import { createHash } from "node:crypto";
import type { KeyValueStore } from "../infra/redis.js";
import { RedisKeyValueStore } from "../infra/redis.js";
import { loadOpsConfig } from "../infra/config/ops.js";
import { type Envelope, REALTIME_CHANNEL } from "./protocol.js";

export const LOG_STREAM = "realtime:log";
const ID_KEY = "realtime:log:id:";

export type Retention = { retentionSeconds: number; maxPushes: number };
export type LogEntry = { seq: string; envelope: Envelope };
/** Where a push id is in the log: `found` (its seq), `unknown` (never seen or expired), `trimmed`. */
export type Position = { kind: "found"; seq: string } | { kind: "unknown" } | { kind: "trimmed" };

let envRetention: Retention | undefined;
/** The configured retention (infra/opsConfig.ts), read once. */
export function retentionFromEnv(): Retention {
  if (!envRetention) {
    const r = loadOpsConfig(process.env).realtime;
    envRetention = { retentionSeconds: r.resumeRetentionSeconds, maxPushes: r.resumeMaxPushes };
  }
  return envRetention;
}

/** Stream ids `<ms>-<n>` in order: negative when a < b. */
export function compareSeq(a: string, b: string): number {
  const [am, an] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bn] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? (an === bn ? 0 : an < bn ? -1 : 1) : am < bm ? -1 : 1;
}

const digest = (text: string) => createHash("sha1").update(text).digest("hex");

// KEYS: stream, id key (or "" without a push id). ARGV: channel, envelope JSON (an object), push id,
// retention ms, max length, content digest.
const APPEND_SCRIPT = `
local json = ARGV[2]
if KEYS[2] ~= "" then
  local prev = redis.call('GET', KEYS[2])
  if prev then
    local sep = string.find(prev, '|', 1, true)
    if sep and string.sub(prev, sep + 1) == ARGV[6] then return string.sub(prev, 1, sep - 1) end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'pid', ARGV[3], 'e', json)
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[4])))
if KEYS[2] ~= "" then redis.call('SET', KEYS[2], seq .. '|' .. ARGV[6], 'PX', ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], '{"seq":"' .. seq .. '",' .. string.sub(json, 2))
return seq`;

type MemoryLog = { entries: { seq: string; at: number; envelope: Envelope }[]; ids: Map<string, { seq: string; digest: string }>; counter: number };
const memoryLogs = new WeakMap<KeyValueStore, MemoryLog>();

export class PushLog {
  private readonly retention: Retention;
  constructor(
    private readonly kv: KeyValueStore,
    retention?: Partial<Retention>,
  ) {
    this.retention = { ...retentionFromEnv(), ...retention };
  }

  /** Appends and publishes (one atomic step on Redis); returns the entry's seq. */
  async append(envelope: Envelope): Promise<string> {
    const json = JSON.stringify({ type: envelope.type, id: envelope.id, rooms: envelope.rooms, data: envelope.data });
    const ms = this.retention.retentionSeconds * 1000;
    const hash = digest(json);
    if (this.kv instanceof RedisKeyValueStore) {
      const p = this.kv.prefix;
      const keys = [p + LOG_STREAM, envelope.id ? p + ID_KEY + envelope.id : ""];
      return String(await this.kv.client.eval(APPEND_SCRIPT, 2, ...keys, p + REALTIME_CHANNEL, json, envelope.id ?? "", ms, this.retention.maxPushes, hash));
    }
    const log = this.memory();
    const prev = envelope.id ? log.ids.get(envelope.id) : undefined;
    if (prev && prev.digest === hash) return prev.seq;
    const now = Date.now();
    const seq = `${now}-${log.counter++}`;
    log.entries.push({ seq, at: now, envelope: { ...envelope } });
    while (log.entries.length > this.retention.maxPushes || (log.entries[0] && log.entries[0].at < now - ms)) log.entries.shift();
    if (envelope.id) log.ids.set(envelope.id, { seq, digest: hash });
    await this.kv.publish(REALTIME_CHANNEL, `{"seq":"${seq}",${json.slice(1)}`);
    return seq;
  }

  /** The log position of a push id. */
  async position(pushId: string): Promise<Position> {
    if (this.kv instanceof RedisKeyValueStore) {
      const value = await this.kv.client.get(this.kv.prefix + ID_KEY + pushId);
      if (!value) return { kind: "unknown" };
      const seq = value.split("|")[0]!;
      const still = await this.kv.client.xrange(this.kv.prefix + LOG_STREAM, seq, seq);
      return still.length ? { kind: "found", seq } : { kind: "trimmed" };
    }
    const log = this.memory();
    const known = log.ids.get(pushId);
    if (!known) return { kind: "unknown" };
    return log.entries.some((e) => e.seq === known.seq) ? { kind: "found", seq: known.seq } : { kind: "trimmed" };
  }

  /** Entries after `seq` (exclusive), oldest first, at most `count`. */
  async after(seq: string, count = 500): Promise<LogEntry[]> {
    if (this.kv instanceof RedisKeyValueStore) {
      const rows = await this.kv.client.xrange(this.kv.prefix + LOG_STREAM, `(${seq}`, "+", "COUNT", count);
      const out: LogEntry[] = [];
      for (const [entrySeq, fields] of rows) {
        const i = fields.indexOf("e");
        if (i < 0) continue;
        try {
          out.push({ seq: entrySeq, envelope: JSON.parse(fields[i + 1]!) as Envelope });
        } catch {}
      }
      return out;
    }
    return this.memory()
      .entries.filter((e) => compareSeq(e.seq, seq) > 0)
      .slice(0, count)
      .map((e) => ({ seq: e.seq, envelope: e.envelope }));
  }

  private memory(): MemoryLog {
    let log = memoryLogs.get(this.kv);
    if (!log) memoryLogs.set(this.kv, (log = { entries: [], ids: new Map(), counter: 0 }));
    return log;
  }
}

const logs = new WeakMap<KeyValueStore, PushLog>();
/** The process's log writer/reader for this adapter (retention from the environment unless given once). */
export function pushLogOf(kv: KeyValueStore, retention?: Partial<Retention>): PushLog {
  let log = logs.get(kv);
  if (!log || retention) logs.set(kv, (log = new PushLog(kv, retention)));
  return log;
}

/** What every publisher calls: the push is logged for resume and fanned out to every replica. */
export async function publishPush(kv: KeyValueStore, envelope: Envelope): Promise<string> {
  return await pushLogOf(kv).append(envelope);
}
