/** infra/cache.ts and /api/ready per-chain lag, against real Redis, a real anvil and a Postgres schema shaped like Ponder's checkpoint table. */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectIndexedDb, type IndexedDb } from "../../read/db.js";
import { bumpCacheVersion, cached, cacheVersion } from "../../infra/cache.js";
import { checkpointBlock, indexerVersion } from "../../read/checkpoints.js";
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
  await admin.query(
    `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}._ponder_checkpoint (chain_name text primary key, chain_id bigint, latest_checkpoint varchar(75), safe_checkpoint varchar(75))`,
  );
  await admin.query(`INSERT INTO ${schema}._ponder_checkpoint VALUES ('a', 31337, $1, $1), ('b', 31338, $2, $2)`, [
    checkpoint(1_700_000_000, 31337, 12),
    checkpoint(1_700_000_001, 31338, 40),
  ]);
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

describe("/api/health and /api/ready: per-chain lag", () => {
  it("reports indexed block, head and lag per chain; not ready beyond HEALTH_MAX_LAG_BLOCKS", async () => {
    const { startAnvil, freePort } = await import("../../devnet/anvil.js");
    const { buildApp } = await import("../../api/app.js");
    const { loadOpsConfig } = await import("../../infra/config/ops.js");
    const { createTestApp } = await import("../api/helpers.js");
    const { fakeNetwork } = await import("../events/helpers.js");
    const anvil = await startAnvil({ port: await freePort(), chainId: 31337 });
    const t = await createTestApp({ kv: "redis" });
    try {
      await fetch(anvil.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x64"] }),
      });
      const base = fakeNetwork(31337);
      const network = { ...base, chains: base.chains.map((c) => ({ ...c, rpcUrl: anvil.rpcUrl })) };
      await admin.query(`UPDATE ${schema}._ponder_checkpoint SET latest_checkpoint = $1 WHERE chain_id = 31337`, [checkpoint(1_700_000_005, 31337, 90)]);
      const app = (maxLag: string) => buildApp({ ...t.deps, network, indexed, ops: loadOpsConfig({ HEALTH_MAX_LAG_BLOCKS: maxLag }) });
      const ready = await app("50").request("/api/ready");
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ok", chains: [{ chainId: 31337, indexedBlock: 90, headBlock: 100, lagBlocks: 10, ok: true }] });
      const lagging = await app("5").request("/api/ready");
      expect(lagging.status).toBe(503);
      expect(await lagging.json()).toMatchObject({ status: "down", chains: [{ lagBlocks: 10, ok: false }] });
      expect((await app("5").request("/api/health")).status).toBe(200);
      const metrics = await (await app("5").request("/api/metrics")).text();
      expect(metrics).toMatch(/cosmic_chain_lag_blocks\{chain_id="31337"\} 10/);
    } finally {
      await t.close();
      await anvil.stop();
    }
  }, 60_000);
});

describe("GET /nfts/{id}: per-process memo over the checkpoint-keyed cache", () => {
  it("follows a reorg (new owner at a new checkpoint) while read continuously: 200s only, old answers then new, never back", async () => {
    const { buildApp } = await import("../../api/app.js");
    const { createTestApp } = await import("../api/helpers.js");
    const { createIndexFixture, fixtureNetwork, FIXTURE_OWNER } = await import("../resilience/lib/indexFixture.js");
    const { getAddress } = await import("viem");
    const fixtureSchema = `memo_${randomBytes(4).toString("hex")}`;
    const { tokenIds } = await createIndexFixture(PG_URL, fixtureSchema, 1);
    const fixtureIndexed = connectIndexedDb({ databaseUrl: PG_URL, schema: fixtureSchema, max: 2 });
    const t = await createTestApp({ kv: "redis" });
    try {
      const app = buildApp({ ...t.deps, indexed: fixtureIndexed, network: fixtureNetwork("http://127.0.0.1:1") });
      const id = `cosmic:${tokenIds[0]}`;
      // No background tokenURI resolution (its write would drop the memo and hide what is tested).
      await t.deps.kv.setIfAbsent(`nft:resolving:${id}`, "1", 60_000);
      const owner = async () => {
        const res = await app.request(`/nfts/${id}`);
        expect(res.status).toBe(200);
        return ((await res.json()) as { owner: string }).owner;
      };
      expect(await owner()).toBe(FIXTURE_OWNER);
      // A reorg: the token's row now has another owner, and the chain's checkpoint moved back.
      const next = getAddress(`0x${"ab".repeat(20)}`);
      await admin.query(`UPDATE "${fixtureSchema}".token SET owner = $1`, [next.toLowerCase()]);
      await admin.query(`UPDATE "${fixtureSchema}"._ponder_checkpoint SET latest_checkpoint = $1 WHERE chain_id = 31337`, [
        checkpoint(1_700_000_000, 31337, 990),
      ]);
      const seen: string[] = [];
      for (let i = 0; i < 2_000 && seen.at(-1) !== next; i++) {
        seen.push(await owner());
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(seen.at(-1)).toBe(next);
      const firstNew = seen.indexOf(next);
      expect(seen.slice(0, firstNew).every((o) => o === FIXTURE_OWNER)).toBe(true);
      for (let i = 0; i < 20; i++) expect(await owner()).toBe(next);
    } finally {
      await t.close();
      await fixtureIndexed.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${fixtureSchema}" CASCADE`);
    }
  }, 60_000);
});
