/**
 * Read-through cache in the key-value store (Redis, or in-process without REDIS_URL).
 *
 * Staleness contract: every key includes the versions the answer depends on —
 *   - the indexer checkpoint (`indexerVersion(indexed)` of read/checkpoints.ts: latest indexed block of every chain, read
 *     from Ponder's `_ponder_checkpoint`, memoised for 250 ms per process),
 *   - off-chain scopes (`cacheVersion(kv, scope)`, bumped by writers after their commit with
 *     `bumpCacheVersion(kv, scope)`),
 * so a new indexed block or a committed write changes the key and the old entry is never read again.
 * An answer is therefore at most 250 ms behind the index, and at most `ttlMs`
 * behind an off-chain write whose bump failed (Redis down at that moment).
 *
 * When the store is unavailable the loader answers directly (uncached): reads never fail because
 * of the cache. Values are JSON with bigints preserved.
 *
 *   const view = await cached(deps.kv, ["nft", id, await indexerVersion(deps.indexed)], 30_000, () => load(id));
 */
import { cacheRequests } from "./metrics.js";
import type { KeyValueStore } from "./redis.js";

export type KeyPart = string | number | bigint | boolean | null | undefined;

/** Redis operations of the cache give up after this long (the loader answers instead). */
const KV_TIMEOUT_MS = 250;

/**
 * False while an ioredis client has lost its connection (commands would wait for the reconnect and
 * fail slowly): callers skip the store at once. A client still connecting for the first time is tried.
 */
export function kvReady(kv: KeyValueStore): boolean {
  const status = (kv as { client?: { status?: string } }).client?.status;
  return kv.kind === "memory" || !(status === "reconnecting" || status === "close" || status === "end");
}

function withTimeout<T>(promise: Promise<T>, ms = KV_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error("cache timeout")), ms);
    }),
  ]);
}

export function cacheKey(parts: readonly KeyPart[]): string {
  return `cache:${parts.map((p) => encodeURIComponent(String(p ?? ""))).join(":")}`;
}

const BIGINT = "$bigint";
export const serialize = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? { [BIGINT]: v.toString() } : v));
export const deserialize = <T>(text: string): T =>
  JSON.parse(text, (_k, v) => (v && typeof v === "object" && typeof v[BIGINT] === "string" && Object.keys(v).length === 1 ? BigInt(v[BIGINT]) : v)) as T;

/**
 * Returns the cached value of `parts`, or runs `loader` and stores its result for `ttlMs`.
 * `name` labels the hit/miss metric (defaults to the first key part).
 */
export async function cached<T>(
  kv: KeyValueStore,
  parts: readonly KeyPart[],
  ttlMs: number,
  loader: () => Promise<T>,
  name = String(parts[0] ?? "default"),
): Promise<T> {
  const key = cacheKey(parts);
  if (!kvReady(kv)) {
    cacheRequests.inc({ cache: name, result: "bypass" });
    return await loader();
  }
  try {
    const hit = await withTimeout(kv.get(key));
    if (hit !== null) {
      cacheRequests.inc({ cache: name, result: "hit" });
      return deserialize<T>(hit);
    }
  } catch {
    cacheRequests.inc({ cache: name, result: "bypass" });
    return await loader();
  }
  cacheRequests.inc({ cache: name, result: "miss" });
  const value = await loader();
  // Undefined (e.g. "not found" signalled by the loader) is not cached.
  if (value !== undefined) void withTimeout(kv.set(key, serialize(value), ttlMs)).catch(() => {});
  return value;
}

/**
 * `cached` of several keys at once: one store read per key (in parallel), and one `loader` call for
 * every key the store did not have (it gets their indexes and answers in the same order). Used
 * where the loader batches (one SQL query per table for N NFTs).
 */
export async function cachedMany<T>(
  kv: KeyValueStore,
  keys: readonly (readonly KeyPart[])[],
  ttlMs: number,
  loader: (missing: number[]) => Promise<T[]>,
  name = "default",
): Promise<T[]> {
  const all = keys.map((_, i) => i);
  if (!kvReady(kv)) {
    cacheRequests.inc({ cache: name, result: "bypass" }, keys.length);
    return await loader(all);
  }
  const texts = keys.map(cacheKey);
  let hits: (string | null)[];
  try {
    hits = await withTimeout(Promise.all(texts.map((key) => kv.get(key))));
  } catch {
    cacheRequests.inc({ cache: name, result: "bypass" }, keys.length);
    return await loader(all);
  }
  const out = new Array<T>(keys.length);
  const missing: number[] = [];
  hits.forEach((hit, i) => {
    if (hit === null) missing.push(i);
    else out[i] = deserialize<T>(hit);
  });
  if (keys.length > missing.length) cacheRequests.inc({ cache: name, result: "hit" }, keys.length - missing.length);
  if (missing.length === 0) return out;
  cacheRequests.inc({ cache: name, result: "miss" }, missing.length);
  const loaded = await loader(missing);
  missing.forEach((i, k) => {
    out[i] = loaded[k]!;
    // Undefined (e.g. "not found" signalled by the loader) is not cached.
    if (loaded[k] !== undefined) void withTimeout(kv.set(texts[i]!, serialize(loaded[k]), ttlMs)).catch(() => {});
  });
  return out;
}

/** Current version of an off-chain scope ("0" when never bumped or when the store is down). */
export async function cacheVersion(kv: KeyValueStore, scope: string): Promise<string> {
  if (!kvReady(kv)) return "down";
  try {
    return (await withTimeout(kv.get(`cachever:${scope}`))) ?? "0";
  } catch {
    return "down";
  }
}

/** Call after committing a write that changes what `scope` answers. Never throws. */
export async function bumpCacheVersion(kv: KeyValueStore, scope: string, ttlMs = 7 * 24 * 3600_000): Promise<void> {
  try {
    await withTimeout(kv.incr(`cachever:${scope}`, ttlMs), 1_000);
  } catch {
    // Entries of this scope stay readable until their TTL: the stated bound when Redis is down.
  }
}
