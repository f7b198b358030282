/**
 * Chain pushes end to end: devnet → Ponder (child process, Postgres schema) → notifier (running in
 * both replicas, serialised by its lock) → Redis → WebSocket client on replica B. Covers: nothing
 * for history, a mint push, a bridge (initiated + completed), a reorg retraction, and a notifier
 * restart that neither repeats nor skips. The notifiers' fallback poll is a minute: every push here
 * is woken by Ponder's commit notification (LISTEN), not by a timer.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { connectIndexedDb } from "../../read/db.js";
import { type LayerZeroWorkers, startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { Devnet } from "../../devnet/start.js";
import { Notifier } from "../../realtime/notifier.js";
import { PG_URL } from "../api/helpers.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { cleanupPonder, type PonderInstance, startPonder, waitForHead } from "../helpers/ponder.js";
import { type Cluster, connect, startCluster, type TestSocket } from "./helpers.js";

let devnet: Devnet;
let relayer: LayerZeroWorkers;
let ponder: PonderInstance;
let cluster: Cluster;
let socket: TestSocket;
const [alice, bob] = [accounts[1]!, accounts[2]!];

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}
const chainA = () => devnet.deployments.chains[0]!;
const chainB = () => devnet.deployments.chains[1]!;
const cosmicOn = (chainId: number) => devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chainId)!;
// Fresh signers: a reverted chain forgets nonces a nonce manager remembers.
const signer = (key: Hex, chain = chainA()) => createChainSigner({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, privateKey: key, pollingInterval: 10 });
const mint = (to: Hex, serial: number) =>
  signer(deployer.privateKey).write({
    address: cosmicOn(chainA().chainId).address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [to, tokenIdInRange(chainA().eid, serial)],
  });
const idOf = (serial: number) => String(tokenIdInRange(chainA().eid, serial));

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  relayer = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
  // History before the notifier ever ran: must never be pushed.
  await mint(alice.address, 1);
  ponder = await startPonder({ deployments: devnet.deployments, db: "postgres", env: { RATE_LIMIT_GRAPHQL_PER_IP: "5", RATE_LIMIT_WINDOW_SECONDS: "60" } });
  await waitForHead(ponder, devnet.deployments);
  cluster = await startCluster({
    count: 2,
    indexed: () => connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 2 }),
    ops: { REALTIME_POLL_MS: "60000", REALTIME_IDLE_TICK_MS: "60000" },
  });
  socket = await connect(cluster.replicas[1]!.realtime.server.url, await cluster.token(alice.address));
  socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
  await socket.next((m) => m.type === "subscribed");
}, 180_000);

afterAll(async () => {
  socket?.close();
  await cluster?.close();
  await relayer?.stop();
  if (ponder) await cleanupPonder(ponder);
  await devnet?.stop();
});

const pushes = () => socket.messages.filter((m) => m.id);

describe("Ponder's GraphQL is rate limited per IP", () => {
  it("admits RATE_LIMIT_GRAPHQL_PER_IP queries, then 429 with Retry-After and RateLimit headers", async () => {
    const query = () =>
      fetch(`${ponder.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ collections { items { slug } } }" }),
      });
    const responses = await Promise.all(Array.from({ length: 50 }, query));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
    const limited = responses.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("ratelimit-limit")).toBe("5");
    expect(await limited.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect((await fetch(`${ponder.url}/status`)).status).toBe(200);
  });
});

describe("chain pushes", () => {
  it("pushes a new mint to a socket of replica B, and nothing of the history", async () => {
    await mint(alice.address, 2);
    const push = await socket.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(2), 20_000);
    expect(push.data).toMatchObject({ chainId: chainA().chainId, collection: "cosmic", to: alice.address, from: null });
    expect(push.rooms.sort()).toEqual(["collection:cosmic", `user:${alice.address}`].sort());
    expect(pushes().some((m) => m.data.tokenId === idOf(1))).toBe(false);
  });

  it("pushes a bridge: initiated then completed (with latency), to the bridge rooms", async () => {
    const tokenId = tokenIdInRange(chainA().eid, 2);
    const { guid } = await sendToken({
      signer: signer(alice.privateKey),
      deployment: cosmicOn(chainA().chainId),
      tokenId,
      dstEid: chainB().eid,
      to: bob.address,
    });
    const initiated = await socket.next((m) => m.type === "bridge:initiated", 20_000);
    expect(initiated.data).toMatchObject({ from: alice.address, to: bob.address, tokenId: String(tokenId), otherChainId: chainB().chainId });
    expect(initiated.data.guid).toBe(guid.toLowerCase());
    const completed = await socket.next((m) => m.type === "bridge:completed", 20_000);
    expect(completed.data).toMatchObject({ guid: initiated.data.guid, srcTxHash: initiated.data.txHash, chainId: chainB().chainId });
    expect(completed.data.latencySeconds).toBeGreaterThanOrEqual(0);
  });

  it("retracts a pushed transfer that a reorg removed", async () => {
    const a = chainA();
    await mint(alice.address, 3);
    await socket.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(3), 20_000);
    const snapshot = await rpc<string>(a.rpcUrl, "evm_snapshot");
    await signer(alice.privateKey).write({
      address: cosmicOn(a.chainId).address,
      abi: CosmicONFT721Abi,
      functionName: "transferFrom",
      args: [alice.address, bob.address, BigInt(idOf(3))],
    });
    const transfer = await socket.next((m) => m.type === "nft:transferred" && m.data.tokenId === idOf(3), 20_000);
    expect(transfer.data).toMatchObject({ from: alice.address, to: bob.address });
    // Back before the transfer, then a longer branch without it.
    expect(await rpc<boolean>(a.rpcUrl, "evm_revert", [snapshot])).toBe(true);
    await mint(bob.address, 4);
    await mint(bob.address, 5);
    const retraction = await socket.next((m) => m.type === "reorg" && m.data.retracts === transfer.id, 30_000);
    expect(retraction.data).toMatchObject({ retractedType: "nft:transferred", tokenId: idOf(3) });
    await socket.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(5), 20_000);
  });

  it("a notifier restart neither repeats nor skips; two notifiers never duplicate", async () => {
    for (const r of cluster.replicas) await r.realtime.notifier!.stop();
    const before = pushes().length;
    for (const serial of [10, 11, 12]) await mint(alice.address, serial);
    await waitForHead(ponder, devnet.deployments);
    await new Promise((r) => setTimeout(r, 300));
    expect(pushes().length).toBe(before);
    const replica = cluster.replicas[0]!;
    const restarted = new Notifier({
      indexed: replica.deps.indexed!,
      store: replica.deps.store,
      kv: replica.deps.kv,
      logger: replica.deps.logger,
      intervalMs: 50,
    }).start();
    try {
      await socket.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(12), 20_000);
      await new Promise((r) => setTimeout(r, 500));
      const minted = pushes()
        .filter((m) => m.type === "nft:minted")
        .map((m) => m.data.tokenId);
      expect(minted.filter((id: string) => [idOf(10), idOf(11), idOf(12)].includes(id))).toEqual([idOf(10), idOf(11), idOf(12)]);
      // Every push id exactly once over the whole run (both replicas ran notifiers until now).
      const ids = pushes().map((m) => m.id);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await restarted.stop();
    }
  });
});
