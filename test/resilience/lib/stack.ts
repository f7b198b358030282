/**
 * The resilience fuzz stack: our REST app built in-process (`buildApp`) on a fresh Postgres
 * database + Redis prefix (test/api/helpers), with an index: the Ponder-shaped schema of
 * lib/indexFixture.ts (test/helpers/indexSchema.ts, as bench/api-nfts builds one) holding a handful
 * of tokens, read through `connectIndexedDb` as API replicas do. No anvil and no Ponder process: the chains'
 * RPC URLs point at a closed port, so routes that must call a chain answer 503 CHAIN_UNAVAILABLE —
 * the documented answer when a required dependency is down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../../../api/app.js";
import { connectIndexedDb } from "../../../read/db.js";
import { nftSettings } from "../../../infra/config/nfts.js";
import { PG_URL, createTestApp, json, siweMessage } from "../../api/helpers.js";
import { FIXTURE_CHAINS, createIndexFixture, fixtureNetwork } from "./indexFixture.js";

const DEAD_RPC = "http://127.0.0.1:9";

/** The index fixture (three `present` tokens on chain a) in `schema`; `drop` removes it. */
async function createIndexSchema(schema: string) {
  await createIndexFixture(PG_URL, schema, 3);
  return {
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
    },
  };
}

export async function startFuzzStack() {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const admin = privateKeyToAccount(generatePrivateKey());
    const user = privateKeyToAccount(generatePrivateKey());
    const t = await createTestApp({
      kv: "redis",
      chains: FIXTURE_CHAINS.map((c) => ({ chainId: c.chainId, rpcUrl: DEAD_RPC })),
      env: { ADMIN_ADDRESSES: admin.address },
    });
    cleanups.push(() => t.close());
    const schema = `resilience_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const index = await createIndexSchema(schema);
    cleanups.push(() => index.drop());
    const indexed = connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 });
    cleanups.push(() => indexed.close());
    const mediaDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-resilience-media-"));
    cleanups.push(async () => rmSync(mediaDir, { recursive: true, force: true }));
    const network = fixtureNetwork(DEAD_RPC);
    // Outbound fetches (metadata refresh) are short-timed: the fuzz must not wait on generated hosts.
    const app = buildApp({ ...t.deps, network, indexed, nft: nftSettings({ mediaDir, fetchTimeoutMs: 500 }) });

    const login = async (account: { address: Address; signMessage: (a: { message: string }) => Promise<Hex> }) => {
      const { nonce } = (await (await app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
      const message = siweMessage({ address: account.address, nonce, chainId: FIXTURE_CHAINS[0].chainId });
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
