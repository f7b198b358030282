/**
 * The NFT index the API benchmarks serve (bench/api-nfts.ts, bench/graphql.ts): N tokens in a fresh
 * Postgres schema with Ponder's own DDL for ponder.schema.ts, owners of 100 tokens each plus one
 * holder of 5,000, a checkpoint row; and the two-chain network setup that matches it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import pg from "pg";
import { tokenIdInRange } from "../../chain/onft.js";
import type { setupFromDeployments as SetupFromDeployments } from "../../indexer/setup.js";
import { PG_URL, REDIS_URL, createTestDatabase } from "../../test/api/helpers.js";
import { createPonderShapedSchema } from "../../test/helpers/indexSchema.js";

export const SIZES = { small: 20_000, medium: 200_000, large: 1_000_000 } as const;
export const CHAIN_A = 31337;
export const CHAIN_B = 31338;
export const EID_A = 50001;
export const CONTRACT_A = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
export const CONTRACT_B = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
export const WHALE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
export const ownerOf = (i: number) => `0x${(1_000_000 + Math.floor(i / 100)).toString(16).padStart(40, "0")}`;

/** Builds the index in `schema`; `drop()` removes it. */
export async function createNftIndex(schema: string, TOKENS: number) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { createIndexes } = await createPonderShapedSchema(
      client,
      schema,
      [
        { name: "a", chainId: CHAIN_A, block: 1000 },
        { name: "b", chainId: CHAIN_B, block: 1000 },
      ],
      { deferIndexes: true },
    );
    const base = tokenIdInRange(EID_A, 0n).toString();
    // Tokens: i < TOKENS - 5000 belong to owner i/100 (chain alternates), the last 5000 to one holder.
    const started = performance.now();
    const chunk = 200_000;
    for (let from = 0; from < TOKENS; from += chunk) {
      const to = Math.min(TOKENS, from + chunk) - 1;
      await client.query(
        `INSERT INTO token (chain_id, contract, token_id, collection, owner, state, minted_block, updated_block, updated_timestamp, updated_order_key, last_tx_hash, last_log_index)
         SELECT CASE WHEN i % 2 = 0 THEN ${CHAIN_A} ELSE ${CHAIN_B} END,
                CASE WHEN i % 2 = 0 THEN '${CONTRACT_A}' ELSE '${CONTRACT_B}' END,
                ${base}::numeric + i, 'cosmic',
                CASE WHEN i >= ${TOKENS - 5000} THEN '${WHALE}' ELSE '0x' || lpad(to_hex(1000000 + i / 100), 40, '0') END,
                'present', 1, 1, 1700000000, lpad(i::text, 20, '0'), '0x' || lpad(to_hex(i), 64, '0'), 0
         FROM generate_series(${from}, ${to}) AS i`,
      );
    }
    await client.query(
      `INSERT INTO transfer SELECT ${CHAIN_A}, '0x' || lpad(to_hex(i), 64, '0'), 0, i, 1700000000 + i, 'cosmic', '${CONTRACT_A}', ${base}::numeric, '0x0000000000000000000000000000000000000000', '${ownerOf(0)}', 'mint', NULL, lpad(i::text, 20, '0') FROM generate_series(1, 3) AS i`,
    );
    // Ponder creates the schema's indexes once the backfill is done; so do we, after the bulk insert.
    await createIndexes();
    await client.query("ANALYZE");
    return { seconds: (performance.now() - started) / 1000, drop: async () => client.query(`DROP SCHEMA "${schema}" CASCADE`).finally(() => client.end()) };
  } catch (error) {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await client.end();
    throw error;
  }
}

/** The network of the index (two chains whose RPC is a closed port: the benches read no chain). */
export function benchNetwork(setupFromDeployments: typeof SetupFromDeployments) {
  return setupFromDeployments({
    devnetId: "bench",
    accounts: [],
    chains: [
      { name: "a", chainId: CHAIN_A, eid: EID_A, rpcUrl: "http://127.0.0.1:1", endpoint: "0x0000000000000000000000000000000000000001", startBlock: 0 },
      { name: "b", chainId: CHAIN_B, eid: EID_A + 1, rpcUrl: "http://127.0.0.1:1", endpoint: "0x0000000000000000000000000000000000000001", startBlock: 0 },
    ],
    collections: [],
  } as never);
}

export function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
      resolve({ url: `http://127.0.0.1:${info.port}`, close: () => new Promise((r) => server.close(() => r())) }),
    );
  });
}

/** The app modules a bench backend needs (from this checkout, or another one for --compare). */
export type BackendModules = {
  JwtKeys: typeof import("../../domain/auth/jwt.js").JwtKeys;
  connectIndexedDb: typeof import("../../read/db.js").connectIndexedDb;
  loadConfig: typeof import("../../infra/config/index.js").loadConfig;
  loadOpsConfig: typeof import("../../infra/config/ops.js").loadOpsConfig;
  RedisKeyValueStore: typeof import("../../infra/redis.js").RedisKeyValueStore;
  createOffchainStore: typeof import("../../offchain/store.js").createOffchainStore;
};

/**
 * What a bench server builds its app on: the index (`tokens`), a read-only pool on it, an off-chain
 * store in a database of its own, a Redis prefix, config with `logLevel`, ops config from `opsEnv`
 * (budgets the load never exhausts), JWT keys. `runCleanups` drops all of it, also on SIGINT/SIGTERM
 * or when the parent goes away; add more with `cleanups.push`.
 */
export async function startBenchBackend(m: BackendModules, options: { prefix: string; tokens: number; logLevel: string; opsEnv: Record<string, string> }) {
  const schema = `${options.prefix}_${Date.now().toString(36)}_${process.pid}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `${options.prefix}-`));
  const db = await createTestDatabase();
  const kv = new m.RedisKeyValueStore(REDIS_URL, `bench:${schema}:`);
  const cleanups: (() => Promise<unknown>)[] = [
    async () => rmSync(dataDir, { recursive: true, force: true }),
    () => db.drop(),
    async () => (await kv.deleteAllWithPrefix(), await kv.close()),
  ];
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((e) => console.error("cleanup:", (e as Error).message));
  };
  // Interrupted (Ctrl-C, a CI timeout, the parent gone): still drop the schema, database and Redis keys.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void runCleanups().finally(() => process.exit(130)));
  process.once("disconnect", () => void runCleanups().finally(() => process.exit(1)));
  try {
    console.log(`building an index of ${options.tokens.toLocaleString()} tokens in schema ${schema}…`);
    const index = await createNftIndex(schema, options.tokens);
    cleanups.push(() => index.drop());
    const indexed = m.connectIndexedDb({ databaseUrl: PG_URL, schema, max: 10 });
    cleanups.push(() => indexed.close());
    const store = m.createOffchainStore({ databaseUrl: db.url, poolSize: 10 });
    cleanups.push(() => store.close());
    await store.migrate();
    const config = m.loadConfig({ NODE_ENV: "test", DATA_DIR: dataDir, LOG_LEVEL: options.logLevel });
    const ops = m.loadOpsConfig(options.opsEnv);
    const keys = await m.JwtKeys.fromPrivateJwks([await m.JwtKeys.generatePrivateJwk()], { issuer: "bench", audience: "bench", ttlSeconds: 900 });
    return { schema, dataDir, kv, index, indexed, store, config, ops, keys, cleanups, runCleanups };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
