/**
 * The bridge lifecycle on the production LayerZero stack, end to end (devnet with 2 source
 * confirmations + LayerZero workers switched per step + Ponder on Postgres + our app + the realtime
 * service with its notifier and the bridge tracker, in-process; test/nfts/stack.ts):
 * each status reached and left — INFLIGHT 1/2 → 2/2 → CONFIRMING 1 of 2 DVNs → VERIFIED →
 * DELIVERED — with its steps, the stuck reasons and their gauge, the pushes in order once each;
 * FAILED → retry → DELIVERED; commit-and-execute when verified but not committed; refusals;
 * `stale` when the tracker cannot read; 1,000 status reads of bridges in flight without an RPC call.
 */
import { type Hex, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { type RpcProxy, startRpcProxy } from "../../devnet/rpcProxy.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type Stack, startStack } from "../nfts/stack.js";
import { connect, type TestSocket } from "../realtime/helpers.js";

let s: Stack;
let socket: TestSocket;
const proxies: RpcProxy[] = [];
/** JSON-RPC requests of the app (not the tracker, not the workers). */
const apiCalls = { count: 0 };
/** The tracker's proxies (killed to make it unable to read). */
const trackerRpc: RpcProxy[] = [];
const [alice, bob, carol] = [accounts[1]!, accounts[2]!, accounts[3]!];
const STUCK_AFTER = 2;
let serial = 500n;

beforeAll(async () => {
  // The app reads the chains through counting proxies, the tracker through proxies the test can kill.
  s = await startStack({
    layerZero: { confirmations: 2 },
    workers: { offline: { dvns: [0, 1], committer: true, executor: true } },
    bridge: { stuckAfterSeconds: STUCK_AFTER, progressStaleSeconds: 1 },
    realtime: { REALTIME_BRIDGE_TRACKER_POLL_MS: "100", REALTIME_BRIDGE_HOLD_MS: "3000" },
    rpcFor: {
      api: async (url) => {
        const proxy = await startRpcProxy(url, { beforeForward: () => (apiCalls.count++, "forward") });
        proxies.push(proxy);
        return proxy.url;
      },
      tracker: async (url) => {
        const proxy = await startRpcProxy(url);
        proxies.push(proxy);
        trackerRpc.push(proxy);
        return proxy.url;
      },
    },
  });
  socket = await connect(s.realtime.server.url);
  socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
  await socket.next((m) => m.type === "subscribed");
}, 240_000);

afterAll(async () => {
  socket?.close();
  await s?.stop();
  for (const p of proxies) await p.close();
});

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);
const mine = (i: number) => signerFor(chain(i), deployer.privateKey).publicClient.request({ method: "evm_mine", params: [] } as never);
async function getJson(path: string, init?: RequestInit) {
  const res = await s.req(path, init);
  return { status: res.status, body: (await res.json()) as any };
}
async function mintTo(owner: Hex): Promise<bigint> {
  const id = tokenIdInRange(chain(0).eid, serial++);
  await signerFor(chain(0), deployer.privateKey).write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "mint", args: [owner, id] });
  return id;
}
async function bridgeOut(tokenId: bigint, token: string) {
  const prep = await getJson(
    "/bridge",
    json(
      { collection: "cosmic", tokenId: tokenId.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: bob.address },
      s.bearer(token),
    ),
  );
  expect(prep.status, JSON.stringify(prep.body)).toBe(201);
  const txHash = await s.signAndSend(alice.privateKey, prep.body.transaction);
  return { operationId: prep.body.operationId as string, txHash };
}
const statusOf = async (id: string) => (await getJson(`/bridge/${id}`)).body;
const waitFor = (id: string, what: string, ok: (b: any) => boolean, ms = 30_000) =>
  waitUntil(
    async () => {
      const b = await statusOf(id);
      return ok(b) ? b : undefined;
    },
    what,
    ms,
  );
async function stuckGauge(): Promise<Record<string, number>> {
  const text = await (await s.req("/api/metrics")).text();
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.startsWith("cosmic_bridges_stuck{"))
      .map((l) => [/reason="(\w+)"/.exec(l)![1]!, Number(l.split(" ").at(-1))]),
  );
}

describe("bridge lifecycle on the production stack", () => {
  it("INFLIGHT 1/2 → 2/2 → CONFIRMING 1 of 2 → VERIFIED → DELIVERED, each step with its tx; stuck reasons; pushes in order once each", async () => {
    const token = await s.login(alice.privateKey);
    const id = await mintTo(alice.address);
    const { operationId, txHash } = await bridgeOut(id, token);
    await s.synced();

    const inflight = await waitFor(operationId, "INFLIGHT 1/2", (b) => b.confirmations?.current === 1);
    expect(inflight).toMatchObject({
      status: "INFLIGHT",
      confirmations: { current: 1, required: 2 },
      dvns: { verified: 0, required: 2 },
      stale: false,
      steps: { sent: { txHash } },
    });
    const guid = inflight.guid as string;
    // Past the stuck threshold: it waits for confirmations, and the gauge says so.
    const waitingConfirmations = await waitFor(operationId, "stuck waiting for confirmations", (b) => !!b.stuck);
    expect(waitingConfirmations.stuck).toMatchObject({ reason: "WAITING_CONFIRMATIONS" });
    expect((await stuckGauge()).WAITING_CONFIRMATIONS).toBeGreaterThanOrEqual(1);

    await mine(0);
    await waitFor(operationId, "2/2 confirmations", (b) => b.confirmations?.current === 2);
    s.workers.dvn(0).start();
    const confirming = await waitFor(operationId, "CONFIRMING 1 of 2", (b) => b.status === "CONFIRMING");
    const dvn0 = chain(1).layerZero.dvns[0]!.address;
    const dvn1 = chain(1).layerZero.dvns[1]!.address;
    expect(confirming.dvns).toMatchObject({ verified: 1, required: 2 });
    expect(confirming.dvns.items.find((d: any) => d.address === dvn0)).toMatchObject({
      verified: true,
      confirmations: 2,
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    expect(confirming.dvns.items.find((d: any) => d.address === dvn1)).toMatchObject({ verified: false, txHash: null });
    expect(confirming.stuck).toEqual({ since: expect.any(String), reason: "WAITING_DVN", waitingFor: [dvn1] });
    expect((await stuckGauge()).WAITING_DVN).toBeGreaterThanOrEqual(1);

    s.workers.dvn(1).start();
    const committable = await waitFor(operationId, "waiting for the commit", (b) => b.dvns?.verified === 2);
    expect(committable).toMatchObject({ status: "CONFIRMING", stuck: { reason: "WAITING_COMMIT" } });
    s.workers.committer.start();
    const verified = await waitFor(operationId, "VERIFIED", (b) => b.status === "VERIFIED" && !!b.steps.verified?.txHash);
    expect(verified.stuck).toMatchObject({ reason: "WAITING_EXECUTOR" });
    expect((await stuckGauge()).WAITING_EXECUTOR).toBeGreaterThanOrEqual(1);
    // The NFT view and GraphQL say the same status.
    expect((await getJson(`/nfts/cosmic:${id}`)).body.bridge).toMatchObject({ status: "VERIFIED", guid });

    s.workers.executor.start();
    await s.relayed();
    await s.synced();
    const delivered = await waitFor(operationId, "DELIVERED", (b) => b.status === "DELIVERED");
    expect(delivered).toMatchObject({
      stuck: null,
      steps: { sent: { txHash }, verified: { txHash: verified.steps.verified.txHash }, delivered: { txHash: expect.any(String) } },
    });
    expect(delivered.verification).toMatchObject({ matches: true, checks: { payloadHash: true }, payload: { matches: true } });
    expect(delivered.verification.payload.attestedBy.map((a: any) => a.address).sort()).toEqual([dvn0, dvn1].sort());
    // What was paid, from the tracker (read once with the progress).
    expect(delivered.fees.paid).toMatchObject({ executor: { address: chain(0).layerZero.executor.address } });

    // The pushes: initiated, then every step once, then completed.
    await socket.next((m) => m.type === "bridge:completed" && m.data.guid === guid, 20_000);
    const mine_ = socket.messages.filter((m) => m.data?.guid === guid && m.id);
    const kinds = mine_.map((m) => (m.type === "bridge:updated" ? `updated:${m.data.step}` : m.type));
    expect(kinds[0]).toBe("bridge:initiated");
    expect(kinds.at(-1)).toBe("bridge:completed");
    expect(kinds.slice(1, -1).sort()).toEqual(
      [
        "updated:committed",
        "updated:confirmations:1",
        "updated:confirmations:2",
        `updated:dvn:${dvn0.toLowerCase()}`,
        `updated:dvn:${dvn1.toLowerCase()}`,
      ].sort(),
    );
    expect(kinds.indexOf("updated:confirmations:2")).toBeLessThan(kinds.indexOf(`updated:dvn:${dvn0.toLowerCase()}`));
    expect(kinds.indexOf("updated:committed")).toBe(kinds.length - 2);
    expect(new Set(mine_.map((m) => m.id)).size).toBe(mine_.length);
    expect(mine_.find((m) => m.data.step === "committed")!.data).toMatchObject({ status: "VERIFIED", dvns: { verified: 2 } });
  });

  it("FAILED → retry by the sender → DELIVERED; a stranger is refused, a delivered bridge is 409", async () => {
    const token = await s.login(alice.privateKey);
    const id = await mintTo(alice.address);
    s.workerControl.fail = true; // the executor runs the delivery out of gas (LzReceiveAlert)
    const { operationId } = await bridgeOut(id, token);
    await mine(0);
    await s.relayed();
    s.workerControl.fail = false;
    await s.synced();
    const failed = await waitFor(operationId, "FAILED and stuck", (b) => b.status === "FAILED" && !!b.stuck);
    expect(failed).toMatchObject({ stuck: { reason: "EXECUTION_FAILED" }, steps: { failed: { reason: expect.stringContaining("out of gas"), attempts: 1 } } });

    const stranger = await s.login(carol.privateKey);
    expect((await getJson(`/bridge/${operationId}/retry`, { method: "POST", headers: s.bearer(stranger) })).body.error.code).toBe("NOT_BRIDGE_PARTY");
    expect((await s.req(`/bridge/${operationId}/retry`, { method: "POST" })).status).toBe(401);
    const retry = await getJson(`/bridge/${operationId}/retry`, { method: "POST", headers: s.bearer(token) });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ action: "execute", failedGas: "2000" });
    expect(retry.body.transactions).toHaveLength(1);
    expect(BigInt(retry.body.transactions[0].gas)).toBeGreaterThan(2000n);
    const hash = await s.signAndSend(alice.privateKey, retry.body.transactions[0]);
    const receipt = await signerFor(chain(1), deployer.privateKey).publicClient.getTransactionReceipt({ hash });
    expect(parseEventLogs({ abi: CosmicONFT721Abi, eventName: "ONFTReceived", logs: receipt.logs })).toHaveLength(1);
    await s.synced();
    await waitFor(operationId, "DELIVERED after the retry", (b) => b.status === "DELIVERED");
    const again = await getJson(`/bridge/${operationId}/retry`, { method: "POST", headers: s.bearer(token) });
    expect([again.status, again.body.error.code]).toEqual([409, "ALREADY_DELIVERED"]);
  });

  it("verified but not committed: the retry commits, then delivers; not verified yet: 409 NOT_VERIFIED", async () => {
    const token = await s.login(alice.privateKey);
    s.workers.committer.stop();
    s.workers.executor.stop();
    try {
      s.workers.dvn(0).stop();
      s.workers.dvn(1).stop();
      const early = await bridgeOut(await mintTo(alice.address), token);
      await s.synced();
      const refused = await getJson(`/bridge/${early.operationId}/retry`, { method: "POST", headers: s.bearer(token) });
      expect([refused.status, refused.body.error.code]).toEqual([409, "NOT_VERIFIED"]);
      s.workers.dvn(0).start();
      s.workers.dvn(1).start();
      await mine(0);
      await waitFor(early.operationId, "both DVNs", (b) => b.dvns?.verified === 2);
      const retry = await getJson(`/bridge/${early.operationId}/retry`, { method: "POST", headers: s.bearer(token) });
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
      expect(retry.body.action).toBe("commit_and_execute");
      expect(retry.body.transactions.map((t: any) => t.to)).toEqual([chain(1).layerZero.receiveUln302, chain(1).endpoint]);
      for (const tx of retry.body.transactions) await s.signAndSend(bob.privateKey, tx);
      await s.synced();
      await waitFor(early.operationId, "DELIVERED", (b) => b.status === "DELIVERED");
    } finally {
      s.workers.committer.start();
      s.workers.executor.start();
    }
  });

  it("statuses of bridges in flight are read without an RPC call per request, and read `stale` when the tracker cannot read", async () => {
    const token = await s.login(alice.privateKey);
    s.workers.dvn(0).stop();
    s.workers.dvn(1).stop();
    try {
      const ops = [];
      for (let i = 0; i < 5; i++) ops.push((await bridgeOut(await mintTo(alice.address), token)).operationId);
      await s.synced();
      for (const op of ops) await waitFor(op, "tracked", (b) => b.confirmations !== null && b.fees.paid !== null);
      // The app's own chain reads go through proxies: none while 1,000 statuses are read.
      const before = apiCalls.count;
      for (let i = 0; i < 1_000; i++) expect((await statusOf(ops[i % ops.length]!)).status).toBe("INFLIGHT");
      expect(apiCalls.count - before).toBe(0);

      // The tracker cannot read the chains: the last known status, marked stale.
      for (const p of trackerRpc) await p.kill();
      try {
        const stale = await waitFor(ops[0]!, "stale", (b) => b.stale === true, 10_000);
        expect(stale).toMatchObject({ status: "INFLIGHT", confirmations: { required: 2 } });
      } finally {
        for (const p of trackerRpc) await p.restart();
      }
      await waitFor(ops[0]!, "fresh again", (b) => b.stale === false, 10_000);
    } finally {
      s.workers.dvn(0).start();
      s.workers.dvn(1).start();
    }
  });
});
