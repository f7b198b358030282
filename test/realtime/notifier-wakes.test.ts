/**
 * What wakes the notifier, and what an idle tick costs (issue "Realtime without polling"): every
 * commit of the index (Ponder's NOTIFY) and every wake published on `realtime:wake` by another
 * process (its bridge tracker stored progress) run a full tick at once; a safety tick with no
 * commit and no wake since returns without a transaction. Real Postgres and Redis; the index is a
 * Ponder-shaped schema (no Ponder process), its commits NOTIFYed by hand.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectIndexedDb, type IndexedDb } from "../../read/db.js";
import { commitChannel } from "../../read/commits.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { Notifier, type TickResult } from "../../realtime/notifier.js";
import { REALTIME_WAKE_CHANNEL } from "../../realtime/protocol.js";
import { createTestApp, PG_URL, REDIS_URL, type TestApp } from "../api/helpers.js";
import { createPonderShapedSchema } from "../helpers/indexSchema.js";

class CountingNotifier extends Notifier {
  readonly results: TickResult[] = [];
  override async tick(options?: { skipIfSettled?: boolean }): Promise<TickResult> {
    const result = await super.tick(options);
    this.results.push(result);
    return result;
  }
}

const schema = `wake_${randomBytes(4).toString("hex")}`;
let admin: pg.Client;
let t: TestApp;
let indexed: IndexedDb;
// The notifier's key-value store and another process's, on one Redis prefix.
const prefix = `test:wake:${randomBytes(4).toString("hex")}:`;
const kv = new RedisKeyValueStore(REDIS_URL, prefix);
const started: Notifier[] = [];

async function until(check: () => boolean, what: string, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const commit = () => admin.query(`NOTIFY "${commitChannel(schema)}"`);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await createPonderShapedSchema(admin, schema, [{ name: "devnet-a", chainId: 31337, block: 10 }]);
  t = await createTestApp({ kv: "redis" });
  indexed = connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 });
  // LISTEN in place before any notifier starts: its connect announces "maybe committed meanwhile"
  // (a wake), which would otherwise land inside the first test's quiet window.
  indexed.commits!.subscribe(() => {});
  await until(() => indexed.commits!.live, "the LISTEN connection");
});

afterAll(async () => {
  for (const n of started) await n.stop();
  await kv.deleteAllWithPrefix();
  await kv.close();
  await indexed?.close();
  await t?.close();
  await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

function start(idleTickMs: number) {
  const n = new CountingNotifier({ indexed, store: t.deps.store, kv, logger: t.deps.logger, intervalMs: 60_000, idleTickMs, stuckScanIntervalMs: 3_600_000 });
  started.push(n.start());
  return n;
}

describe("notifier wakes", () => {
  it("ticks on each commit of the index and on a wake from another process, not on a timer", async () => {
    const n = start(60_000);
    await until(() => n.results.length >= 1, "the first tick");
    const settled = n.results.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(n.results.length).toBe(settled); // nothing wakes it: no timer tick within a minute

    await commit();
    await until(() => n.results.length > settled, "a tick after the commit");
    expect(n.results.at(-1)).toMatchObject({ leader: true });
    expect(n.results.at(-1)!.skipped).toBeUndefined();

    // Another process (its own connection, same key prefix) announces stored bridge progress.
    const other = new RedisKeyValueStore(REDIS_URL, prefix);
    try {
      const before = n.results.length;
      await other.publish(REALTIME_WAKE_CHANNEL, "progress");
      await until(() => n.results.length > before, "a tick after the wake");
      expect(n.results.at(-1)!.skipped).toBeUndefined();
    } finally {
      await other.close();
    }
    await n.stop();
  });

  it("an idle safety tick with no commit and no wake since skips the transaction; the next commit does not", async () => {
    const n = start(100);
    await until(() => n.results.length >= 4, "a few idle ticks");
    expect(n.results[0]!.skipped).toBeUndefined(); // the first tick is a full one
    expect(n.results.slice(1).every((r) => r.skipped === true)).toBe(true);
    const before = n.results.length;
    await commit();
    await until(() => n.results.slice(before).some((r) => r.skipped === undefined), "a full tick after the commit");
    await n.stop();
  });
});
