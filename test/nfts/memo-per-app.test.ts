/**
 * The per-process NFT read memo (domain/nfts/read.ts) belongs to one app: two apps in one process
 * (API replicas in tests, or two deployments) reading two different indexes never answer with each
 * other's NFT. Real Postgres (two Ponder-shaped schemas) and Redis (one prefix per app).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { connectIndexedDb, type IndexedDb } from "../../read/db.js";
import { formatNftId } from "../../domain/nfts/ids.js";
import { createTestApp, PG_URL, type TestApp } from "../api/helpers.js";
import { createIndexFixture, fixtureNetwork } from "../resilience/lib/indexFixture.js";

const schemas = [`memo_a_${randomBytes(3).toString("hex")}`, `memo_b_${randomBytes(3).toString("hex")}`];
const OTHER_OWNER = "0x00000000000000000000000000000000000000b2";
let apps: { t: TestApp; indexed: IndexedDb }[] = [];
let tokenId: bigint;

beforeAll(async () => {
  for (const schema of schemas)
    ({
      tokenIds: [tokenId],
    } = (await createIndexFixture(PG_URL, schema, 1)) as { tokenIds: [bigint] });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`UPDATE "${schemas[1]}".token SET owner = $1`, [OTHER_OWNER]);
  await client.end();
  apps = await Promise.all(
    schemas.map(async (schema) => ({ t: await createTestApp({ kv: "redis" }), indexed: connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 }) })),
  );
});
afterAll(async () => {
  for (const a of apps) {
    await a.indexed.close();
    await a.t.close();
  }
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe("NFT read memo", () => {
  it("is per app: two apps over two indexes each answer with their own owner", async () => {
    const built = apps.map((a) => buildApp({ ...a.t.deps, indexed: a.indexed, network: fixtureNetwork("http://127.0.0.1:9") }));
    const id = formatNftId("cosmic", tokenId);
    const owners: string[] = [];
    for (const app of built) {
      const res = await app.request(`/nfts/${id}`);
      expect(res.status).toBe(200);
      owners.push(((await res.json()) as { owner: string }).owner.toLowerCase());
    }
    expect(owners).toEqual(["0x70997970c51812dc3a010c7d01b50e0d17dc79c8", OTHER_OWNER]);
  });
});
