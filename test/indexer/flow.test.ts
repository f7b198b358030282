import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { LegacyERC721Abi } from "../../abis/LegacyERC721Abi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { type LayerZeroWorkers, startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { Devnet } from "../../devnet/start.js";
import { reconcile } from "../../indexer/reconcile.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { NO_REVERT_DATA_REASON } from "../../indexer/model.js";
import { accounts, chainAt, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, TEST_DBS, cleanupPonder, getJson, gql, startPonder, waitForHead, waitUntil } from "../helpers/ponder.js";

let devnet: Devnet;
let workers: LayerZeroWorkers | undefined;
const instances: PonderInstance[] = [];
const [alice, bob, carol, dave] = [accounts[1]!, accounts[2]!, accounts[3]!, accounts[4]!];
const lc = (a: string) => a.toLowerCase();

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 3, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
  instances.push(...(await Promise.all(TEST_DBS.map((db) => startPonder({ deployments: devnet.deployments, db })))));
  await synced();
});

afterAll(async () => {
  await workers?.stop();
  await Promise.all(instances.map((i) => cleanupPonder(i)));
  await devnet?.stop();
});

async function synced() {
  await Promise.all(instances.map((i) => waitForHead(i, devnet.deployments)));
}

const chains = () =>
  [0, 1, 2].map((i) => chainAt(devnet.deployments, i)) as [ReturnType<typeof chainAt>, ReturnType<typeof chainAt>, ReturnType<typeof chainAt>];

async function tokenView(instance: PonderInstance, collection: string, tokenId: bigint) {
  return (await getJson(instance, `/indexer/tokens/${collection}/${tokenId}`)).body;
}

describe.each(TEST_DBS.length ? [0] : [])("indexer end to end", () => {
  const cosmicId = () => tokenIdInRange(chains()[0].eid, 1n);

  it("indexes a mint and a transfer with full history", async () => {
    const [a] = chains();
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a.chainId);
    await signerFor(a, deployer.privateKey).write({ address: cosmicA.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, cosmicId()] });
    await signerFor(a, alice.privateKey).write({
      address: cosmicA.address,
      abi: CosmicONFT721Abi,
      functionName: "transferFrom",
      args: [alice.address, bob.address, cosmicId()],
    });
    await synced();
    for (const instance of instances) {
      const data = await gql(
        instance,
        `query($c: Float!, $a: String!, $id: BigInt!) { token(chainId: $c, contract: $a, tokenId: $id) { owner state collection
            transfers(orderBy: "orderKey") { items { kind from to txHash blockNumber logIndex timestamp } } } }`,
        { c: a.chainId, a: lc(cosmicA.address), id: String(cosmicId()) },
      );
      expect(data.token).toMatchObject({ owner: lc(bob.address), state: "present", collection: "cosmic" });
      expect(data.token.transfers.items.map((t: { kind: string }) => t.kind)).toEqual(["mint", "transfer"]);
      expect(data.token.transfers.items[1]).toMatchObject({ from: lc(alice.address), to: lc(bob.address) });
      expect(data.token.transfers.items[1].txHash).toMatch(/^0x[0-9a-f]{64}$/);
      const feed = await gql(instance, `{ activitys(orderBy: "orderKey") { items { type tokenId } } }`);
      expect(feed.activitys.items.map((x: { type: string }) => x.type)).toEqual(["minted", "transferred"]);
    }
  });

  it("indexes a batch mint; owner query with chain filter; supply per chain", async () => {
    const [, b] = chains();
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const ids = Array.from({ length: 25 }, (_, i) => tokenIdInRange(b.eid, BigInt(i + 1)));
    await signerFor(b, deployer.privateKey).write({
      address: cosmicB.address,
      abi: CosmicONFT721Abi,
      functionName: "mintBatch",
      args: [ids.map(() => carol.address), ids],
    });
    await synced();
    for (const instance of instances) {
      const byOwner = await gql(
        instance,
        `query($o: String!, $c: Int) { tokens(where: { owner: $o, chainId: $c, state: "present" }, limit: 100) { totalCount items { tokenId } } }`,
        {
          o: lc(carol.address),
          c: b.chainId,
        },
      );
      expect(byOwner.tokens.totalCount).toBe(25);
      const elsewhere = await gql(instance, `query($o: String!, $c: Int) { tokens(where: { owner: $o, chainId: $c }) { totalCount } }`, {
        o: lc(carol.address),
        c: chainAt(devnet.deployments, 0).chainId,
      });
      expect(elsewhere.tokens.totalCount).toBe(0);
      const rest = await getJson(instance, `/indexer/owners/${carol.address}/tokens?chain=${b.chainId}`);
      expect(rest.body.items).toHaveLength(25);
      // The activity feed pages by order key: two pages of 10 continue each other, oldest first.
      const page1 = (await getJson(instance, `/indexer/activity?limit=10`)).body;
      const page2 = (await getJson(instance, `/indexer/activity?limit=10&after=${page1.nextCursor}`)).body;
      expect(page1.items).toHaveLength(10);
      expect(page2.items[0].orderKey > page1.items[9].orderKey).toBe(true);
      expect([...page1.items, ...page2.items].map((r: { orderKey: string }) => r.orderKey)).toEqual(
        [...page1.items, ...page2.items].map((r: { orderKey: string }) => r.orderKey).sort(),
      );
      const dep = await gql(instance, `query($c: Float!, $a: String!) { collectionDeployment(chainId: $c, address: $a) { supply minted collection } }`, {
        c: b.chainId,
        a: lc(cosmicB.address),
      });
      expect(dep.collectionDeployment).toEqual({ supply: 25, minted: 25, collection: "cosmic" });
    }
  });

  it("bridges A→B→C→A: owners, chains, history and both bridge halves at every step", async () => {
    const [a, b, c] = chains();
    const id = cosmicId();
    const hops: { from: typeof a; to: typeof a; sender: typeof bob; recipient: typeof bob }[] = [
      { from: a, to: b, sender: bob, recipient: carol },
      { from: b, to: c, sender: carol, recipient: dave },
      { from: c, to: a, sender: dave, recipient: alice },
    ];
    for (const hop of hops) {
      const deployment = collectionOn(devnet.deployments, "cosmic", hop.from.chainId);
      const sent = await sendToken({
        signer: signerFor(hop.from, hop.sender.privateKey),
        deployment,
        tokenId: id,
        dstEid: hop.to.eid,
        to: hop.recipient.address,
      });
      await workers!.idle();
      await synced();
      for (const instance of instances) {
        const view = await tokenView(instance, "cosmic", id);
        expect(view.location).toMatchObject({ status: "on_chain", chainId: hop.to.chainId, owner: lc(hop.recipient.address) });
        expect(view.consistent).toBe(true);
        const bridge = (await getJson(instance, `/indexer/bridges/${sent.guid}`)).body;
        expect(bridge.status).toBe("DELIVERED");
        expect(bridge.send).toMatchObject({
          chainId: hop.from.chainId,
          dstChainId: hop.to.chainId,
          fromAddress: lc(hop.sender.address),
          recipient: lc(hop.recipient.address),
          txHash: sent.hash,
        });
        expect(bridge.receive).toMatchObject({ chainId: hop.to.chainId, srcChainId: hop.from.chainId, status: "DELIVERED" });
        expect(bridge.receive.deliveredTxHash).toMatch(/^0x/);
        expect(bridge.send.message).toMatch(/^0x[0-9a-f]{128}$/); // sendTo b32 | tokenId u256, from the receipt's PacketSent
        expect(bridge.latencySeconds).toBeGreaterThanOrEqual(0);
        // Nested GraphQL: send → receive by guid.
        const g = await gql(
          instance,
          `query($g: String!, $c: Float!) { bridgeSend(guid: $g, chainId: $c) { nonce srcEid dstEid receive { status deliveredTxHash } } }`,
          { g: sent.guid, c: hop.from.chainId },
        );
        expect(g.bridgeSend.receive.status).toBe("DELIVERED");
        expect(g.bridgeSend.dstEid).toBe(hop.to.eid);
      }
    }
    for (const instance of instances) {
      const history = await gql(
        instance,
        `query($id: BigInt!) { transfers(where: { collection: "cosmic", tokenId: $id }, orderBy: "orderKey", limit: 50) { items { chainId kind } } }`,
        { id: String(id) },
      );
      // orderKey is a stable total order (timestamp, chain, block, log); devnet blocks share a second,
      // so compare each chain's own sequence.
      const perChain = (items: { chainId: number; kind?: string; type?: string }[]) =>
        [0, 1, 2].map((i) => items.filter((t) => t.chainId === a.chainId + i).map((t) => t.kind ?? t.type));
      expect(perChain(history.transfers.items)).toEqual([
        ["mint", "transfer", "bridge_out", "bridge_in"],
        ["bridge_in", "bridge_out"],
        ["bridge_in", "bridge_out"],
      ]);
      const feed = await gql(
        instance,
        `query($id: BigInt!) { activitys(where: { collection: "cosmic", tokenId: $id }, orderBy: "orderKey") { items { type chainId } } }`,
        { id: String(id) },
      );
      expect(perChain(feed.activitys.items)).toEqual([
        ["minted", "transferred", "bridge_sent", "bridge_delivered"],
        ["bridge_delivered", "bridge_sent"],
        ["bridge_delivered", "bridge_sent"],
      ]);
    }
  });

  it("bridges through the adapter: locked on the home chain while away, unlocked on return", async () => {
    const [a, b] = chains();
    const legacyA = collectionOn(devnet.deployments, "legacy", a.chainId);
    const legacyB = collectionOn(devnet.deployments, "legacy", b.chainId);
    await signerFor(a, deployer.privateKey).write({ address: legacyA.token, abi: LegacyERC721Abi, functionName: "mint", args: [alice.address, 7n] });
    await sendToken({ signer: signerFor(a, alice.privateKey), deployment: legacyA, tokenId: 7n, dstEid: b.eid, to: bob.address });
    await workers!.idle();
    await synced();
    for (const instance of instances) {
      const view = await tokenView(instance, "legacy", 7n);
      expect(view.location).toMatchObject({ status: "on_chain", chainId: b.chainId, owner: lc(bob.address) });
      const home = view.chains.find((r: { chainId: number }) => r.chainId === a.chainId);
      expect(home).toMatchObject({ state: "locked", owner: lc(legacyA.address) });
    }
    await sendToken({ signer: signerFor(b, bob.privateKey), deployment: legacyB, tokenId: 7n, dstEid: a.eid, to: alice.address });
    await workers!.idle();
    await synced();
    for (const instance of instances) {
      const view = await tokenView(instance, "legacy", 7n);
      expect(view.location).toMatchObject({ status: "on_chain", chainId: a.chainId, owner: lc(alice.address) });
      expect(view.chains.find((r: { chainId: number }) => r.chainId === b.chainId)).toMatchObject({ state: "bridged_out" });
      const history = await gql(instance, `{ transfers(where: { collection: "legacy", tokenId: "7" }, orderBy: "orderKey") { items { chainId kind } } }`);
      const onChain = (chainId: number) =>
        history.transfers.items.filter((t: { chainId: number }) => t.chainId === chainId).map((t: { kind: string }) => t.kind);
      expect(onChain(a.chainId)).toEqual(["mint", "bridge_out", "bridge_in"]);
      expect(onChain(b.chainId)).toEqual(["bridge_in", "bridge_out"]);
    }
  });

  it("reconcile is clean", async () => {
    for (const instance of instances) {
      const result = await reconcile(setupFromDeployments(devnet.deployments), instance.url);
      expect(result.mismatches).toEqual([]);
      expect(result.checkedTokens).toBeGreaterThan(25);
    }
  });

  it("shows a token in flight while the DVNs delay, then delivered", async () => {
    const [, b, c] = chains();
    await workers!.stop();
    workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50, delayMs: 4_000 });
    const id = tokenIdInRange(b.eid, 1n);
    const sent = await sendToken({
      signer: signerFor(b, carol.privateKey),
      deployment: collectionOn(devnet.deployments, "cosmic", b.chainId),
      tokenId: id,
      dstEid: c.eid,
      to: dave.address,
    });
    await synced();
    for (const instance of instances) {
      const view = await tokenView(instance, "cosmic", id);
      expect(view.location).toMatchObject({ status: "in_flight", fromChainId: b.chainId, toChainId: c.chainId, guid: sent.guid, bridgeStatus: "INFLIGHT" });
      const result = await reconcile(setupFromDeployments(devnet.deployments), instance.url);
      expect(result.mismatches).toEqual([]);
    }
    await workers.idle();
    await synced();
    for (const instance of instances) {
      expect((await tokenView(instance, "cosmic", id)).location).toMatchObject({ status: "on_chain", chainId: c.chainId, owner: lc(dave.address) });
    }
  });

  it("a failed delivery ends FAILED with its reason (token stays in flight)", async () => {
    const [a, b] = chains();
    await workers!.stop();
    workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50, shouldFail: () => true });
    const id = tokenIdInRange(b.eid, 2n);
    const sent = await sendToken({
      signer: signerFor(b, carol.privateKey),
      deployment: collectionOn(devnet.deployments, "cosmic", b.chainId),
      tokenId: id,
      dstEid: a.eid,
      to: alice.address,
    });
    await workers.idle();
    expect(workers.failed).toBeGreaterThanOrEqual(1);
    await synced();
    for (const instance of instances) {
      const bridge = await waitUntil(async () => {
        const body = (await getJson(instance, `/indexer/bridges/${sent.guid}`)).body;
        return body.status === "FAILED" ? body : null;
      }, "FAILED bridge");
      expect(bridge.receive).toMatchObject({ status: "FAILED", failureReason: NO_REVERT_DATA_REASON, failureCount: 1, chainId: a.chainId });
      const view = await tokenView(instance, "cosmic", id);
      expect(view.location).toMatchObject({ status: "in_flight", bridgeStatus: "FAILED", failureReason: NO_REVERT_DATA_REASON });
      const feed = await gql(instance, `{ activitys(where: { type: "bridge_failed" }) { items { guid chainId } } }`);
      expect(feed.activitys.items).toEqual([{ guid: sent.guid, chainId: a.chainId }]);
      expect((await reconcile(setupFromDeployments(devnet.deployments), instance.url)).mismatches).toEqual([]);
    }
  });
});
