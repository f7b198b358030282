/** infra/cache.ts against real Redis and a Postgres schema shaped like Ponder's checkpoint table. */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectIndexedDb, type IndexedDb } from "../../api/indexed/db.js";
import { bumpCacheVersion, cached, cacheVersion, checkpointBlock, indexerVersion } from "../../infra/cache.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createTestKv, PG_URL } from "../api/helpers.js";

const schema = `cache_${randomBytes(4).toString("hex")}`;
let admin: pg.Client;
let indexed: IndexedDb;
const kvs: { cleanup(): Promise<void> }[] = [];
const checkpoint = (ts: number, chainId: number, block: number) =>
  `${String(ts).padStart(10, "0")}${String(chainId).padStart(16, "0")}${String(block).padStart(16, "0")}${"0".repeat(16)}5${"0".repeat(16)}`;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}._ponder_checkpoint (chain_name text primary key, chain_id bigint, latest_checkpoint varchar(75), safe_checkpoint varchar(75))`);
  await admin.query(`INSERT INTO ${schema}._ponder_checkpoint VALUES ('a', 31337, $1, $1), ('b', 31338, $2, $2)`, [checkpoint(1_700_000_000, 31337, 12), checkpoint(1_700_000_001, 31338, 40)]);
  indexed = connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 });
});

afterAll(async () => {
  await indexed?.close();
  for (const k of kvs) await k.cleanup();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe("cached()", () => {
  it("loads once, then hits; bigints survive; the key changes with the versions", async () => {
    const t = createTestKv("redis");
    kvs.push(t);
    let loads = 0;
    const loader = async () => ({ n: ++loads, big: 2n ** 200n });
    const first = await cached(t.kv, ["nft", "x", "v1"], 10_000, loader);
    await new Promise((r) => setTimeout(r, 20)); // the set is fire-and-forget
    const second = await cached(t.kv, ["nft", "x", "v1"], 10_000, loader);
    expect(first).toEqual({ n: 1, big: 2n ** 200n });
    expect(second).toEqual(first);
    expect((await cached(t.kv, ["nft", "x", "v2"], 10_000, loader)).n).toBe(2);

    expect(await cacheVersion(t.kv, "events")).toBe("0");
    await bumpCacheVersion(t.kv, "events");
    expect(await cacheVersion(t.kv, "events")).toBe("1");
  });

  it("answers from the loader when Redis is unreachable (no error, no wait)", async () => {
    const dead = new RedisKeyValueStore("redis://127.0.0.1:1", "x:");
    try {
      const started = Date.now();
      expect(await cached(dead, ["nft", "y"], 1000, async () => 42)).toBe(42);
      expect(await cacheVersion(dead, "events")).toBe("down");
      await bumpCacheVersion(dead, "events");
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await dead.close();
    }
  });

  it("indexerVersion follows Ponder's checkpoint table (memoised briefly)", async () => {
    expect(checkpointBlock(checkpoint(1, 5, 777))).toBe(777);
    expect(await indexerVersion(indexed, 0)).toBe("31337.12_31338.40");
    await admin.query(`UPDATE ${schema}._ponder_checkpoint SET latest_checkpoint = $1 WHERE chain_id = 31337`, [checkpoint(1_700_000_005, 31337, 13)]);
    expect(await indexerVersion(indexed, 60_000)).toBe("31337.12_31338.40");
    expect(await indexerVersion(indexed, 0)).toBe("31337.13_31338.40");
    expect(await indexerVersion(undefined)).toBe("none");
  });
});
