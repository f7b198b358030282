/**
 * Exactly-once chain pushes under the conditions that broke them (issue "Delivery…", item 1):
 * two notifiers on two replicas, notifier restarts, bridges whose destination chain is indexed
 * before the source (the source chain's RPC is slowed behind a proxy, alternating per round), and
 * reorgs of one chain while the other keeps moving — under Ponder 0.16's multichain ordering a
 * reorg of chain A also reverts chain B's later rows and re-executes them with its next block.
 * Repeated for ROUNDS rounds in one run: each round's bridge and reorg are the races that failed
 * about one run in three before the fix (a duplicated push id; `bridge:completed` without its
 * source half, or before its `bridge:initiated`).
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { connectIndexedDb } from "../../read/db.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { type LayerZeroWorkers, startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import { type RpcProxy, type RpcProxyOptions, startRpcProxy } from "../../devnet/rpcProxy.js";
import type { Devnet } from "../../devnet/start.js";
import { Notifier } from "../../realtime/notifier.js";
import { PG_URL } from "../api/helpers.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { cleanupPonder, type PonderInstance, startPonder, waitForHead, withRpcUrls } from "../helpers/ponder.js";
import { type Cluster, connect, startCluster, type TestSocket } from "./helpers.js";

const ROUNDS = Number(process.env.REALTIME_EXACTLY_ONCE_ROUNDS ?? 6);

let devnet: Devnet;
let relayer: LayerZeroWorkers;
let ponder: PonderInstance;
let cluster: Cluster;
let socket: TestSocket;
const proxies: { proxy: RpcProxy; options: RpcProxyOptions }[] = [];
const notifiers: Notifier[] = [];
const [alice, bob] = [accounts[1]!, accounts[2]!];

const chain = (i: number) => devnet.deployments.chains[i]!;
const cosmicOn = (i: number) => devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chain(i).chainId)!;
// Fresh signers: a reverted chain forgets nonces a nonce manager remembers.
const signer = (key: Hex, i: number) => createChainSigner({ chainId: chain(i).chainId, rpcUrl: chain(i).rpcUrl, privateKey: key, pollingInterval: 10 });
const tokenOf = (i: number, serial: number) => tokenIdInRange(chain(i).eid, serial);
async function mint(i: number, to: Hex, serial: number) {
  const receipt = await signer(deployer.privateKey, i).write({
    address: cosmicOn(i).address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [to, tokenOf(i, serial)],
  });
  return receipt.transactionHash;
}
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
const pushes = () => socket.messages.filter((m) => m.id);
const mintPush = (i: number, serial: number) => (m: any) =>
  m.type === "nft:minted" && m.data.chainId === chain(i).chainId && m.data.tokenId === String(tokenOf(i, serial));

/** Replaces replica r's notifier by a new one (a restart: state only in Postgres). */
async function restartNotifier(r: number) {
  const replica = cluster.replicas[r]!;
  const current = notifiers[r] ?? replica.realtime.notifier!;
  await current.stop();
  notifiers[r] = new Notifier({
    indexed: replica.deps.indexed!,
    store: replica.deps.store,
    kv: replica.deps.kv,
    logger: replica.deps.logger,
    intervalMs: 50,
  }).start();
}

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  relayer = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
  // Ponder reads each chain through a proxy whose delay the rounds change: one chain lags the other.
  const urls = new Map<number, string>();
  for (const c of devnet.deployments.chains) {
    const options: RpcProxyOptions = { delayMs: 0 };
    const proxy = await startRpcProxy(c.rpcUrl, options);
    proxies.push({ proxy, options });
    urls.set(c.chainId, proxy.url);
  }
  ponder = await startPonder({ deployments: withRpcUrls(devnet.deployments, urls), db: "postgres" });
  await waitForHead(ponder, devnet.deployments);
  cluster = await startCluster({ count: 2, indexed: () => connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 2 }) });
  socket = await connect(cluster.replicas[1]!.realtime.server.url, await cluster.token(alice.address));
  socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
  await socket.next((m) => m.type === "subscribed");
}, 180_000);

afterAll(async () => {
  socket?.close();
  for (const n of notifiers) await n?.stop();
  await cluster?.close();
  await relayer?.stop();
  if (ponder) await cleanupPonder(ponder);
  for (const { proxy } of proxies) await proxy.close();
  await devnet?.stop();
});

describe(`exactly-once pushes, ${ROUNDS} rounds`, () => {
  const bridges: { guid: string; txHash: string; src: number }[] = [];
  const kept: { i: number; serial: number }[] = [];
  const reorged: { i: number; serial: number }[] = [];

  it("bridges with the destination indexed first, reorgs of either chain, notifier restarts", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const src = round % 2;
      const dst = 1 - src;
      const base = 1_000 + round * 10;
      // The source chain lags: its delivery is indexed on the destination before its send.
      proxies[src]!.options.delayMs = 300;
      proxies[dst]!.options.delayMs = 0;
      await mint(src, alice.address, base);
      await socket.next(mintPush(src, base), 30_000);
      kept.push({ i: src, serial: base });
      const sent = await sendToken({
        signer: signer(alice.privateKey, src),
        deployment: cosmicOn(src),
        tokenId: tokenOf(src, base),
        dstEid: chain(dst).eid,
        to: bob.address,
      });
      bridges.push({ guid: sent.guid.toLowerCase(), txHash: sent.hash, src });
      await restartNotifier(round % 2);
      await socket.next((m) => m.type === "bridge:completed" && m.data.guid === sent.guid.toLowerCase(), 30_000);
      proxies[src]!.options.delayMs = 0;

      // A reorg of chain r while chain 1-r moves on after the reorged block.
      const r = dst;
      await mint(r, alice.address, base + 1);
      await socket.next(mintPush(r, base + 1), 30_000);
      kept.push({ i: r, serial: base + 1 });
      const snapshot = await rpc<string>(chain(r).rpcUrl, "evm_snapshot");
      await mint(r, alice.address, base + 2);
      await socket.next(mintPush(r, base + 2), 30_000);
      reorged.push({ i: r, serial: base + 2 });
      await mint(1 - r, alice.address, base + 3);
      await socket.next(mintPush(1 - r, base + 3), 30_000);
      kept.push({ i: 1 - r, serial: base + 3 });
      if (round % 3 === 2) await restartNotifier(1 - (round % 2));
      expect(await rpc<boolean>(chain(r).rpcUrl, "evm_revert", [snapshot])).toBe(true);
      await mint(r, bob.address, base + 4);
      await mint(r, bob.address, base + 5);
      kept.push({ i: r, serial: base + 4 }, { i: r, serial: base + 5 });
      await socket.next(mintPush(r, base + 5), 30_000);
      // A row that went missing is retracted once it is still missing after Ponder committed another
      // block (docs/realtime.md, "Reorgs of another chain are not retractions"): when one tick saw
      // both replacement blocks at once, that is the next block of any chain — here, of the other.
      await mint(1 - r, alice.address, base + 6);
      kept.push({ i: 1 - r, serial: base + 6 });
      await socket.next(mintPush(1 - r, base + 6), 30_000);
      await socket.next((m) => m.type === "reorg" && m.data.tokenId === String(tokenOf(r, base + 2)), 30_000);
    }
    await waitForHead(ponder, devnet.deployments);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  });

  it("delivers every push id once", () => {
    const ids = pushes().map((m) => m.id);
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(repeated).toEqual([]);
  });

  it("announces every kept mint once and retracts exactly the reorged ones", () => {
    for (const { i, serial } of [...kept, ...reorged]) expect(pushes().filter(mintPush(i, serial)), `mint ${i}/${serial}`).toHaveLength(1);
    const retracted = pushes().filter((m) => m.type === "reorg");
    expect(retracted.map((m) => `${m.data.chainId}/${m.data.tokenId}`).sort()).toEqual(
      reorged.map(({ i, serial }) => `${chain(i).chainId}/${tokenOf(i, serial)}`).sort(),
    );
    for (const m of retracted) expect(m.data.retractedType).toBe("nft:minted");
  });

  it("sends each bridge:completed once, after its bridge:initiated, with both halves", () => {
    const all = pushes();
    for (const b of bridges) {
      const initiated = all.filter((m) => m.type === "bridge:initiated" && m.data.guid === b.guid);
      const completed = all.filter((m) => m.type === "bridge:completed" && m.data.guid === b.guid);
      expect(initiated).toHaveLength(1);
      expect(completed).toHaveLength(1);
      expect(all.indexOf(completed[0])).toBeGreaterThan(all.indexOf(initiated[0]));
      expect(completed[0].data).toMatchObject({ srcTxHash: b.txHash, srcChainId: chain(b.src).chainId, chainId: chain(1 - b.src).chainId });
      expect(completed[0].data.latencySeconds).toBeGreaterThanOrEqual(0);
    }
  });
});
