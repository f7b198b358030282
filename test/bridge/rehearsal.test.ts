/**
 * Production-mode rehearsal (devnet/rehearsal.ts): `ponder start` with PONDER_NETWORK=testnet, a
 * collections file and RPC_URL_<CHAIN> — the receipt-based PacketSent path, no devnet shortcut —
 * against anvil chains carrying Base Sepolia's and Arbitrum Sepolia's chain ids and EIDs, EndpointV2
 * at the testnets' real address, a block a second and 2 source confirmations; the API and the
 * realtime service (with the bridge tracker) in Ponder's own process. Driven through the public API
 * as a frontend would: sign in, prepare, the wallet sends; INFLIGHT 1/2 → 2/2 → CONFIRMING 1 of 2 →
 * VERIFIED → DELIVERED; FAILED → retry → DELIVERED; reconcile passes after it. Its own database
 * (the testnets' chain ids must not meet another run's RPC cache).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Address, type Hex, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { localChain } from "../../chain/signer.js";
import { freePort } from "../../devnet/anvil.js";
import { type LayerZeroWorkers, startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import { REHEARSAL_DEVNET, collectionsFile, rehearsalEnv } from "../../devnet/rehearsal.js";
import type { Devnet } from "../../devnet/start.js";
import { reconcile } from "../../indexer/reconcile.js";
import { loadIndexerSetup } from "../../indexer/setup.js";
import { TESTNET_ENDPOINT_V2 } from "../../indexer/networks.js";
import { SIWE_DOMAIN, SIWE_URI, createTestDatabase, siweMessage } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, startPonder, waitForHead, waitUntil } from "../helpers/ponder.js";

let devnet: Devnet;
let workers: LayerZeroWorkers;
let ponder: PonderInstance;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let env: Record<string, string>;
const dir = mkdtempSync(path.join(os.tmpdir(), "cosmic-rehearsal-"));
const control = { fail: false };
const [alice, bob] = [accounts[1]!, accounts[2]!];

beforeAll(async () => {
  db = await createTestDatabase();
  devnet = await startTestDevnet(REHEARSAL_DEVNET);
  // DVN 1 and the executor start offline: the test walks the bridge through every status.
  workers = await startLayerZeroWorkers({
    deployments: devnet.deployments,
    pollingIntervalMs: 100,
    offline: { dvns: [1], executor: true },
    shouldFail: () => control.fail,
  });
  const collections = path.join(dir, "collections.json");
  writeFileSync(collections, JSON.stringify(collectionsFile(devnet.deployments), null, 2));
  env = {
    ...rehearsalEnv(devnet.deployments, collections),
    PONDER_POLLING_INTERVAL: "250",
    REALTIME_IN_PROCESS: "1",
    REALTIME_PORT: String(await freePort()),
    REALTIME_BRIDGE_TRACKER_POLL_MS: "200",
    AUTH_SIWE_DOMAIN: SIWE_DOMAIN,
    AUTH_SIWE_URI: SIWE_URI,
    DATA_DIR: dir,
  };
  ponder = await startPonder({ deployments: devnet.deployments, db: "postgres", databaseUrl: db.url, env });
  await waitForHead(ponder, devnet.deployments, 120_000);
}, 300_000);

afterAll(async () => {
  await workers?.stop();
  await ponder?.stop();
  await devnet?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const chain = (i: number) => devnet.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(devnet.deployments, "cosmic", chain(i).chainId);
let serial = 1n;
async function api(route: string, init?: RequestInit & { token?: string }) {
  const headers: Record<string, string> = { "content-type": "application/json", ...(init?.token ? { authorization: `Bearer ${init.token}` } : {}) };
  const res = await fetch(`${ponder.url}${route}`, { ...init, headers });
  return { status: res.status, body: (await res.json()) as any };
}
async function login(privateKey: Hex): Promise<string> {
  const account = privateKeyToAccount(privateKey);
  const { nonce } = (await api(`/auth/nonce/${account.address}`)).body;
  const message = siweMessage({ address: account.address, nonce, chainId: chain(0).chainId });
  const res = await api("/auth/login", { method: "POST", body: JSON.stringify({ message, signature: await account.signMessage({ message }) }) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.accessToken;
}
async function send(privateKey: Hex, tx: { to: string; data: string; value: string; chainId: number; gas?: string }): Promise<Hex> {
  const c = devnet.deployments.chains.find((x) => x.chainId === tx.chainId)!;
  const wallet = createWalletClient({ account: privateKeyToAccount(privateKey), chain: localChain(c.chainId, c.rpcUrl), transport: http(c.rpcUrl) });
  const hash = await wallet.sendTransaction({
    to: tx.to as Address,
    data: tx.data as Hex,
    value: BigInt(tx.value),
    ...(tx.gas ? { gas: BigInt(tx.gas) } : {}),
  });
  const receipt = await signerFor(c, deployer.privateKey).publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  expect(receipt.status).toBe("success");
  return hash;
}
async function bridgeOut(token: string) {
  const id = tokenIdInRange(chain(0).eid, serial++);
  await signerFor(chain(0), deployer.privateKey).write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, id] });
  const prep = await api("/bridge", {
    method: "POST",
    token,
    body: JSON.stringify({ collection: "cosmic", tokenId: id.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: bob.address }),
  });
  expect(prep.status, JSON.stringify(prep.body)).toBe(201);
  await send(alice.privateKey, prep.body.transaction);
  return prep.body.operationId as string;
}
const until = (op: string, what: string, ok: (b: any) => boolean) =>
  waitUntil(
    async () => {
      const { body } = await api(`/bridge/${op}`);
      return ok(body) ? body : undefined;
    },
    what,
    60_000,
  );

describe("production-mode rehearsal (ponder start, PONDER_NETWORK=testnet)", () => {
  it("runs on the testnets' chain ids, EIDs and EndpointV2 address, indexed from the collections file", async () => {
    expect(devnet.deployments.chains.map((c) => [c.chainId, c.eid, c.endpoint])).toEqual([
      [84532, 40245, TESTNET_ENDPOINT_V2],
      [421614, 40231, TESTNET_ENDPOINT_V2],
    ]);
    const chains = (await api("/chains")).body.items;
    expect(chains.map((c: any) => [c.chainId, c.eid])).toEqual([
      [84532, 40245],
      [421614, 40231],
    ]);
  });

  it("prepare → wallet send → INFLIGHT 1/2 → 2/2 → CONFIRMING 1 of 2 → VERIFIED → DELIVERED", async () => {
    const token = await login(alice.privateKey);
    const op = await bridgeOut(token);
    const inflight = await until(op, "INFLIGHT 1/2", (b) => b.status === "INFLIGHT" && b.confirmations?.current === 1);
    expect(inflight.confirmations).toEqual({ current: 1, required: 2 });
    await until(op, "2/2 confirmations", (b) => b.confirmations?.current >= 2);
    const confirming = await until(op, "CONFIRMING 1 of 2", (b) => b.status === "CONFIRMING");
    expect(confirming.dvns).toMatchObject({ verified: 1, required: 2 });
    workers.dvn(1).start();
    const verified = await until(op, "VERIFIED", (b) => b.status === "VERIFIED");
    expect(verified.steps.verified.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    workers.executor.start();
    const delivered = await until(op, "DELIVERED", (b) => b.status === "DELIVERED" && b.verification?.payload?.matches === true);
    expect(delivered.verification.payload.attestedBy).toHaveLength(2);
    expect(delivered.fees.paid.dvns).toHaveLength(2);
  });

  it("FAILED → retry → DELIVERED, and reconcile passes after it", async () => {
    const token = await login(alice.privateKey);
    control.fail = true;
    const op = await bridgeOut(token);
    await until(op, "FAILED", (b) => b.status === "FAILED");
    control.fail = false;
    const retry = await api(`/bridge/${op}/retry`, { method: "POST", token });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    for (const tx of retry.body.transactions) await send(alice.privateKey, tx);
    await until(op, "DELIVERED after the retry", (b) => b.status === "DELIVERED");
    await waitForHead(ponder, devnet.deployments, 60_000);
    const result = await reconcile(loadIndexerSetup({ ...env, DATABASE_URL: db.url }), ponder.url);
    expect(result.mismatches).toEqual([]);
    expect(result.checkedTokens).toBeGreaterThanOrEqual(2);
  });
});
