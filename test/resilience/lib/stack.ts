/**
 * The resilience fuzz stack: our REST app built in-process (`buildApp`) on a fresh Postgres
 * database + Redis prefix (test/api/helpers), with an index: a Ponder-shaped schema created from
 * ponder.schema.ts's DDL (the same way bench/api-nfts builds one) holding a handful of tokens, read
 * through `connectIndexedDb` as API replicas do. No anvil and no Ponder process: the chains'
 * RPC URLs point at a closed port, so routes that must call a chain answer 503 CHAIN_UNAVAILABLE —
 * the documented answer when a required dependency is down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { type Address, getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../../../api/app.js";
import { connectIndexedDb } from "../../../api/indexed/db.js";
import { nftSettings } from "../../../api/nfts/settings.js";
import { tokenIdInRange } from "../../../chain/onft.js";
import type { IndexerSetup } from "../../../indexer/setup.js";
import * as ponderSchema from "../../../ponder.schema.js";
import { PG_URL, createTestApp, json, siweMessage } from "../../api/helpers.js";

export const CHAINS = [
  { chainId: 31337, eid: 50001, name: "a" },
  { chainId: 31338, eid: 50002, name: "b" },
] as const;
export const CONTRACT = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
export const OWNER = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
export const TOKEN_IDS = [0n, 1n, 2n].map((n) => tokenIdInRange(CHAINS[0].eid, n));

const DEAD_RPC = "http://127.0.0.1:9";

async function createIndexSchema(schema: string) {
  const kit = await import(pathToFileURL(path.resolve("node_modules/ponder/dist/esm/drizzle/kit/index.js")).href);
  const ddl = kit.getSql(ponderSchema) as { tables: { sql: string[] }; indexes: { sql: string[] } };
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
  for (const stmt of ddl.tables.sql.filter((s) => !s.includes('"_reorg__'))) await client.query(stmt);
  for (const stmt of ddl.indexes.sql) await client.query(stmt);
  await client.query(`CREATE TABLE _ponder_checkpoint (chain_name text PRIMARY KEY, chain_id bigint NOT NULL, safe_checkpoint varchar(75) NOT NULL, latest_checkpoint varchar(75) NOT NULL, finalized_checkpoint varchar(75) NOT NULL)`);
  const cp = (chainId: number) => `1700000000${String(chainId).padStart(16, "0")}${"1000".padStart(16, "0")}${"0".repeat(33)}`;
  await client.query(`INSERT INTO _ponder_checkpoint VALUES ('a', ${CHAINS[0].chainId}, $1, $1, $1), ('b', ${CHAINS[1].chainId}, $2, $2, $2)`, [cp(CHAINS[0].chainId), cp(CHAINS[1].chainId)]);
  await client.query(`INSERT INTO collection VALUES ('cosmic', 'Cosmic', 'COSMIC', ${CHAINS[0].chainId})`);
  for (const [i, id] of TOKEN_IDS.entries())
    await client.query(
      `INSERT INTO token (chain_id, contract, token_id, collection, owner, state, metadata_version, minted_block, updated_block, updated_timestamp, updated_order_key, last_tx_hash, last_log_index)
       VALUES ($1, $2, $3, 'cosmic', $4, 'present', 0, 1, 1, 1700000000, $5, $6, 0)`,
      [CHAINS[0].chainId, CONTRACT.toLowerCase(), id.toString(), OWNER.toLowerCase(), String(i).padStart(20, "0"), `0x${String(i + 1).padStart(64, "0")}`],
    );
  return { drop: async () => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end()) };
}

export async function startFuzzStack() {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const admin = privateKeyToAccount(generatePrivateKey());
    const user = privateKeyToAccount(generatePrivateKey());
    const t = await createTestApp({ kv: "redis", chains: CHAINS.map((c) => ({ chainId: c.chainId, rpcUrl: DEAD_RPC })), env: { ADMIN_ADDRESSES: admin.address } });
    cleanups.push(() => t.close());
    const schema = `resilience_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const index = await createIndexSchema(schema);
    cleanups.push(() => index.drop());
    const indexed = connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 });
    cleanups.push(() => indexed.close());
    const mediaDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-resilience-media-"));
    cleanups.push(async () => rmSync(mediaDir, { recursive: true, force: true }));
    const endpoint = getAddress("0x1a44076050125825900e736c501f859c50fE728c");
    const network: IndexerSetup = {
      mode: "devnet",
      id: "resilience",
      chains: CHAINS.map((c) => ({ name: c.name, chainId: c.chainId, eid: c.eid, rpcUrl: DEAD_RPC, endpoint, startBlock: 0, pollingInterval: 100 })),
      collections: [
        {
          slug: "cosmic",
          name: "Cosmic",
          symbol: "COSMIC",
          deployments: CHAINS.map((c) => ({ slug: "cosmic", chainId: c.chainId, chainName: c.name, eid: c.eid, kind: "onft" as const, address: CONTRACT, token: CONTRACT, startBlock: 0 })),
        },
      ],
      deployments: [],
    };
    network.deployments = network.collections.flatMap((c) => c.deployments);
    // Outbound fetches (metadata refresh) are short-timed: the fuzz must not wait on generated hosts.
    const app = buildApp({ ...t.deps, network, indexed, nft: nftSettings({ mediaDir, fetchTimeoutMs: 500 }) });

    const login = async (account: { address: Address; signMessage: (a: { message: string }) => Promise<Hex> }) => {
      const { nonce } = (await (await app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
      const message = siweMessage({ address: account.address, nonce, chainId: CHAINS[0].chainId });
      const res = await app.request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    const stack = {
      app,
      deps: t.deps,
      adminToken: await login(admin),
      userToken: await login(user),
      admin: admin.address,
      user: user.address,
      close,
      /** Fresh sessions: a fuzzed POST /auth/logout or refresh-reuse revokes the current ones. */
      async relogin() {
        stack.adminToken = await login(admin);
        stack.userToken = await login(user);
      },
    };
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}
