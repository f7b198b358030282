/**
 * Key-value + pub/sub adapter: Redis through ioredis when REDIS_URL is set, an in-process map
 * otherwise (single process only). Both honour the same interface and the same key prefix.
 */
import { EventEmitter } from "node:events";
import { Redis } from "ioredis";

export type Unsubscribe = () => Promise<void>;

export interface KeyValueStore {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | null>;
  /** Set with a TTL in milliseconds (required: nothing here lives forever). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Set only if absent; true when set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Atomic read-and-delete (single use tokens such as nonces). */
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<void>;
  /** Increments a counter, setting its TTL when it is created; returns the value and ms left. */
  incr(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = "memory" as const;
  private readonly data = new Map<string, { value: string; expiresAt: number }>();
  private readonly bus = new EventEmitter();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly prefix = "") {
    this.bus.setMaxListeners(0);
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private sweep() {
    const now = Date.now();
    for (const [k, v] of this.data) if (v.expiresAt <= now) this.data.delete(k);
  }

  private live(key: string) {
    const entry = this.data.get(this.prefix + key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.data.delete(this.prefix + key);
      return undefined;
    }
    return entry;
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }
  async set(key: string, value: string, ttlMs: number) {
    this.data.set(this.prefix + key, { value, expiresAt: Date.now() + ttlMs });
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    await this.set(key, value, ttlMs);
    return true;
  }
  async getDel(key: string) {
    const entry = this.live(key);
    this.data.delete(this.prefix + key);
    return entry?.value ?? null;
  }
  async del(key: string) {
    this.data.delete(this.prefix + key);
  }
  async incr(key: string, ttlMs: number) {
    const entry = this.live(key);
    if (!entry) {
      this.data.set(this.prefix + key, { value: "1", expiresAt: Date.now() + ttlMs });
      return { value: 1, ttlMs };
    }
    entry.value = String(Number(entry.value) + 1);
    return { value: Number(entry.value), ttlMs: entry.expiresAt - Date.now() };
  }
  async publish(channel: string, message: string) {
    this.bus.emit(this.prefix + channel, message);
  }
  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    const name = this.prefix + channel;
    this.bus.on(name, handler);
    return async () => void this.bus.off(name, handler);
  }
  async ping() {
    return true;
  }
  async close() {
    clearInterval(this.sweeper);
    this.data.clear();
    this.bus.removeAllListeners();
  }
}

const INCR_SCRIPT = `
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {v, t}`;

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = "redis" as const;
  readonly client: Redis;
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(
    url: string,
    readonly prefix = "",
  ) {
    // Fail fast instead of queueing commands forever while Redis is down (routes answer 503).
    this.client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false, connectTimeout: 2_000 });
    this.client.on("error", () => {});
  }

  async get(key: string) {
    return await this.client.get(this.prefix + key);
  }
  async set(key: string, value: string, ttlMs: number) {
    await this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK";
  }
  async getDel(key: string) {
    return await this.client.getdel(this.prefix + key);
  }
  async del(key: string) {
    await this.client.del(this.prefix + key);
  }
  async incr(key: string, ttlMs: number) {
    const [value, ttl] = (await this.client.eval(INCR_SCRIPT, 1, this.prefix + key, Math.max(1, Math.ceil(ttlMs)))) as [number, number];
    return { value: Number(value), ttlMs: Number(ttl) };
  }
  async publish(channel: string, message: string) {
    await this.client.publish(this.prefix + channel, message);
  }
  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    const name = this.prefix + channel;
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate();
      this.subscriber.on("error", () => {});
      this.subscriber.on("message", (ch: string, message: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(message);
      });
    }
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
      await this.subscriber.subscribe(name);
    }
    set.add(handler);
    return async () => {
      const current = this.handlers.get(name);
      current?.delete(handler);
      if (current && current.size === 0) {
        this.handlers.delete(name);
        await this.subscriber?.unsubscribe(name);
      }
    };
  }
  async ping() {
    try {
      return (await this.client.ping()) === "PONG";
    } catch {
      return false;
    }
  }
  /** Deletes every key under this adapter's prefix (tests). */
  async deleteAllWithPrefix() {
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", `${this.prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await this.client.del(...keys);
    } while (cursor !== "0");
  }
  async close() {
    await Promise.allSettled([this.subscriber?.quit(), this.client.quit()]);
  }
}

export function createKeyValueStore(url: string | undefined, prefix: string): KeyValueStore {
  return url ? new RedisKeyValueStore(url, prefix) : new MemoryKeyValueStore(prefix);
}
