/**
 * Bridge service end to end (devnet + LayerZero workers + Ponder on Postgres + our app in-process, see
 * test/nfts/stack.ts): estimate = contract quote, prepare → wallet signs → relay → DELIVERED with
 * every step, lookups by operation id / guid / tx hash, history both ways, FAILED delivery, a
 * delayed one INFLIGHT then stuck, the stuck counter, and the 4xx of bad routes.
 */
import { type Address, pad, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { countStuckBridges } from "../../domain/bridge/stuckCounts.js";
import { quoteSend, tokenIdInRange } from "../../chain/onft.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type Stack, startStack } from "../nfts/stack.js";

let s: Stack;
const [alice, bob, carol] = [accounts[1]!, accounts[2]!, accounts[3]!];
// Long enough that a loaded machine's sync does not make a fresh bridge look stuck.
const STUCK_AFTER = 10;
let serial = 100n;

beforeAll(async () => {
  // With the realtime service and its bridge tracker, as in production: the steps between send and
  // delivery come from the chains.
  s = await startStack({ bridge: { stuckAfterSeconds: STUCK_AFTER }, realtime: {} });
});
afterAll(async () => {
  await s?.stop();
});

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);

async function mintTo(owner: Address, onChain = 0): Promise<bigint> {
  const id = tokenIdInRange(chain(onChain).eid, serial++);
  await signerFor(chain(onChain), deployer.privateKey).write({
    address: cosmic(onChain).address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [owner, id],
  });
  return id;
}

/** cosmic_bridges_stuck summed over its reasons, but EXECUTION_FAILED (see stuckCount). */
async function stuckGauge(): Promise<number> {
  const text = await (await s.req("/api/metrics")).text();
  const lines = text.split("\n").filter((l) => l.startsWith("cosmic_bridges_stuck{") && !l.includes('"EXECUTION_FAILED"'));
  if (!lines.length) throw new Error("cosmic_bridges_stuck missing from /api/metrics");
  return lines.reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
}
/** Stuck bridges in flight (the earlier test's FAILED one stays stuck EXECUTION_FAILED until retried). */
const stuckCount = async () =>
  Object.entries(await countStuckBridges(s.indexed, s.deps.store, STUCK_AFTER))
    .filter(([reason]) => reason !== "EXECUTION_FAILED")
    .reduce((a, [, n]) => a + n, 0);

async function getJson(path: string, init?: RequestInit) {
  const res = await s.req(path, init);
  return { status: res.status, body: (await res.json()) as any };
}

/** The wallet side: sign and send the prepared transaction like a browser wallet would. */
async function prepareAndSend(from: typeof alice, tokenId: bigint, to: Address, token: string) {
  const prep = await getJson(
    "/bridge",
    json({ collection: "cosmic", tokenId: tokenId.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: to }, s.bearer(token)),
  );
  expect(prep.status, JSON.stringify(prep.body)).toBe(201);
  const txHash = await s.signAndSend(from.privateKey, prep.body.transaction);
  return { operationId: prep.body.operationId as string, txHash, prep: prep.body };
}

describe("bridge service", () => {
  it("estimate equals the contract's quote; bad routes are clear 4xx", async () => {
    const id = await mintTo(alice.address);
    const q = `collection=cosmic&tokenId=${id}&srcChain=${chain(0).chainId}&dstChain=${chain(1).chainId}`;
    const est = await getJson(`/bridge/estimate?${q}`);
    expect(est.status, JSON.stringify(est.body)).toBe(200);
    const onchain = await quoteSend(signerFor(chain(0), deployer.privateKey).publicClient, cosmic(0), { tokenId: id, dstEid: chain(1).eid, to: alice.address });
    expect(est.body).toMatchObject({
      nativeFee: onchain.nativeFee.toString(),
      lzTokenFee: "0",
      symbol: "ETH",
      srcChainId: chain(0).chainId,
      dstChainId: chain(1).chainId,
    });
    expect(Date.parse(est.body.expiresAt)).toBeGreaterThan(Date.now());

    expect((await getJson(`/bridge/estimate?collection=cosmic&tokenId=${id}&srcChain=999&dstChain=${chain(1).chainId}`)).body.error.code).toBe("UNKNOWN_CHAIN");
    const notThere = await getJson(`/bridge/estimate?collection=cosmic&tokenId=${id}&srcChain=${chain(1).chainId}&dstChain=${chain(0).chainId}`);
    expect([notThere.status, notThere.body.error.code]).toEqual([422, "TOKEN_NOT_ON_SOURCE_CHAIN"]);
    expect((await getJson(`/bridge/estimate?collection=nope&tokenId=1&srcChain=${chain(0).chainId}&dstChain=${chain(1).chainId}`)).status).toBe(404);
    expect((await getJson(`/bridge/estimate?collection=cosmic&tokenId=abc&srcChain=1&dstChain=2`)).status).toBe(400);
    expect((await getJson(`/bridge/estimate?collection=cosmic&tokenId=${id}&srcChain=${chain(0).chainId}&dstChain=${chain(0).chainId}`)).body.error.code).toBe(
      "SAME_CHAIN",
    );

    // A route without a peer: unset chain 0's peer for chain 1, then restore it.
    const owner = signerFor(chain(0), deployer.privateKey);
    const peer = pad(cosmic(1).address, { size: 32 });
    await owner.write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [chain(1).eid, zeroHash] });
    try {
      // Another token id: the first quote is cached for this one.
      const other = await mintTo(alice.address);
      const noPeer = await getJson(`/bridge/estimate?collection=cosmic&tokenId=${other}&srcChain=${chain(0).chainId}&dstChain=${chain(1).chainId}`);
      expect([noPeer.status, noPeer.body.error.code]).toEqual([422, "NO_PEER"]);
    } finally {
      await owner.write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [chain(1).eid, peer] });
    }
  });

  it("prepare → wallet signs → relay → DELIVERED with all steps; found by operation id, guid and tx hash; history both ways", async () => {
    const id = await mintTo(alice.address);
    const aliceToken = await s.login(alice.privateKey);
    const bobToken = await s.login(bob.privateKey);
    // Only the owner may prepare.
    const denied = await getJson(
      "/bridge",
      json({ collection: "cosmic", tokenId: id.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId }, s.bearer(bobToken)),
    );
    expect([denied.status, denied.body.error.code]).toEqual([403, "NOT_TOKEN_OWNER"]);
    expect(
      (await getJson("/bridge", json({ collection: "cosmic", tokenId: id.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId }))).status,
    ).toBe(401);

    await s.pauseWorkers();
    const prep = await getJson(
      "/bridge",
      json(
        { collection: "cosmic", tokenId: id.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: bob.address },
        s.bearer(aliceToken),
      ),
    );
    expect(prep.status, JSON.stringify(prep.body)).toBe(201);
    expect(prep.body).toMatchObject({ status: "PREPARED", approval: null, transaction: { to: cosmic(0).address, chainId: chain(0).chainId } });
    expect(BigInt(prep.body.transaction.value)).toBeGreaterThanOrEqual(BigInt(prep.body.fee.nativeFee));
    expect((await getJson(`/bridge/${prep.body.operationId}`)).body).toMatchObject({ status: "PREPARED", operationId: prep.body.operationId });

    const txHash = await s.signAndSend(alice.privateKey, prep.body.transaction);
    // Reported by the client: linked at once from the receipt, before the indexer catches up.
    const reported = await getJson(`/bridge/${prep.body.operationId}/tx`, json({ txHash }, s.bearer(aliceToken)));
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    expect(reported.body.guid).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await getJson(`/bridge/${prep.body.operationId}/tx`, json({ txHash }, s.bearer(bobToken)))).status).toBe(403);
    await s.synced();
    expect((await getJson(`/bridge/${prep.body.operationId}`)).body).toMatchObject({ status: "INFLIGHT", stuck: null });

    await s.resumeWorkers();
    await s.relayed();
    await s.synced();
    // Delivered in the index; the tracker's last read fills in the commit's step.
    const byOp = await waitUntil(async () => {
      const r = await getJson(`/bridge/${prep.body.operationId}`);
      return r.body.status === "DELIVERED" && r.body.steps.verified?.txHash ? r : undefined;
    }, "DELIVERED with every step");
    expect(byOp.body).toMatchObject({
      operationId: prep.body.operationId,
      status: "DELIVERED",
      stuck: null,
      collection: "cosmic",
      tokenId: id.toString(),
      srcChainId: chain(0).chainId,
      dstChainId: chain(1).chainId,
      sender: alice.address,
      recipient: bob.address,
      verification: { matches: true, checks: { guid: true, tokenId: true, recipient: true, chain: true, collection: true } },
    });
    const { steps } = byOp.body;
    expect(steps.prepared.at).toBeTruthy();
    expect(steps.sent.txHash).toBe(txHash);
    for (const step of [steps.sent, steps.verified, steps.delivered]) {
      expect(step.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(Date.parse(step.at)).toBeGreaterThan(0);
    }
    expect(steps.failed).toBeNull();
    expect(byOp.body.latencySeconds).toBeGreaterThanOrEqual(0);
    // What the send paid its workers (SendUln302's ExecutorFeePaid / DVNFeePaid in the send's receipt):
    // the fees the estimate's breakdown announced.
    const { paid, quoted } = byOp.body.fees;
    expect(quoted).toBe(prep.body.fee.nativeFee);
    expect(paid).toMatchObject({
      sendLibrary: chain(0).layerZero.sendUln302,
      executor: { address: chain(0).layerZero.executor.address, fee: prep.body.fee.breakdown.executor.fee },
    });
    expect(paid.dvns.map((d: { address: string; fee: string }) => [d.address, d.fee]).sort()).toEqual(
      prep.body.fee.breakdown.dvns.map((d: { address: string; fee: string }) => [d.address, d.fee]).sort(),
    );
    expect(BigInt(paid.workers) + BigInt(prep.body.fee.breakdown.treasury.fee)).toBe(BigInt(prep.body.fee.nativeFee));
    const guid = byOp.body.guid;
    expect((await getJson(`/bridge/${guid}`)).body).toEqual(byOp.body);
    expect((await getJson(`/bridge/${txHash}`)).body).toEqual(byOp.body);
    expect((await getJson(`/bridge/${txHash.toUpperCase().replace("0X", "0x")}`)).body.guid).toBe(guid);

    const sent = await getJson(`/bridge/history/${alice.address.toLowerCase()}`);
    expect(sent.body.items.find((i: { guid: string }) => i.guid === guid)).toMatchObject({ direction: "sent", status: "DELIVERED" });
    const received = await getJson(`/bridge/history/${bob.address}`);
    expect(received.body.items.find((i: { guid: string }) => i.guid === guid)).toMatchObject({
      direction: "received",
      status: "DELIVERED",
      recipient: bob.address,
    });

    // The NFT now lives on chain 1 with bob.
    const nft = await getJson(`/nfts/cosmic:${id}`);
    expect(nft.body).toMatchObject({ state: "on_chain", chainId: chain(1).chainId, owner: bob.address, bridge: { guid, status: "DELIVERED" } });
  });

  it("an operation prepared without a reported tx is linked when its send is indexed", async () => {
    const id = await mintTo(carol.address);
    const token = await s.login(carol.privateKey);
    const { operationId, txHash } = await prepareAndSend(carol, id, carol.address, token);
    await s.relayed();
    await s.synced();
    const view = await getJson(`/bridge/${operationId}`);
    expect(view.body).toMatchObject({ operationId, status: "DELIVERED", steps: { sent: { txHash } } });
  });

  it("a failed delivery reads FAILED with its reason", async () => {
    const id = await mintTo(alice.address);
    const token = await s.login(alice.privateKey);
    s.workerControl.fail = true; // the executor runs the delivery out of gas
    try {
      const { operationId } = await prepareAndSend(alice, id, bob.address, token);
      await s.relayed();
      await s.synced();
      const view = await waitUntil(async () => {
        const v = (await getJson(`/bridge/${operationId}`)).body;
        return v.status === "FAILED" ? v : undefined;
      }, "FAILED status");
      expect(view.steps.failed.txHash).toMatch(/^0x/);
      expect(view.steps.failed.reason).toBeTruthy();
      expect(view.steps.delivered).toBeNull();
      expect(view.verification).toBeNull();
      expect(view.stuck).toBeNull();
    } finally {
      s.workerControl.fail = false;
    }
  });

  it("a delayed delivery reads INFLIGHT, then stuck (and is counted), then DELIVERED", async () => {
    const id = await mintTo(alice.address);
    const token = await s.login(alice.privateKey);
    await s.pauseWorkers();
    const { operationId } = await prepareAndSend(alice, id, carol.address, token);
    await s.synced();
    const early = (await getJson(`/bridge/${operationId}`)).body;
    expect(early).toMatchObject({ status: "INFLIGHT", stuck: null });
    const stuck = await waitUntil(
      async () => {
        const v = (await getJson(`/bridge/${operationId}`)).body;
        return v.stuck ? v : undefined;
      },
      "stuck",
      (STUCK_AFTER + 5) * 1000,
    );
    expect(stuck.status).toBe("INFLIGHT");
    // The workers are paused: sent (1 of 1 confirmation), no DVN has attested.
    expect(stuck.stuck).toMatchObject({ reason: "WAITING_DVN", waitingFor: expect.arrayContaining(chain(1).layerZero.dvns.map((d) => d.address)) });
    expect(await stuckCount()).toBeGreaterThanOrEqual(1);
    // Operators see it on /api/metrics (computed on scrape from the index).
    expect(await stuckGauge()).toBeGreaterThanOrEqual(1);
    await s.resumeWorkers();
    await s.relayed();
    await s.synced();
    expect((await getJson(`/bridge/${operationId}`)).body).toMatchObject({ status: "DELIVERED", stuck: null });
    expect(await stuckCount()).toBe(0);
    expect(await stuckGauge()).toBe(0);
  });

  it("unknown ids are 404, malformed ones 400; history pages newest first without repeats", async () => {
    expect((await getJson(`/bridge/${"0x" + "ab".repeat(32)}`)).status).toBe(404);
    expect((await getJson("/bridge/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await getJson("/bridge/not-an-id")).status).toBe(400);
    expect((await getJson(`/bridge/history/${alice.address}?cursor=garbage`)).body.error.code).toBe("INVALID_CURSOR");
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await getJson(`/bridge/history/${alice.address}?limit=1${cursor ? `&cursor=${cursor}` : ""}`)).body;
      all.push(...page.items.map((i: { guid: string }) => i.guid));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(new Set(all).size).toBe(all.length);
    const full = (await getJson(`/bridge/history/${alice.address}?limit=200`)).body.items.map((i: { guid: string }) => i.guid);
    expect(all).toEqual(full);
  });
});
