/**
 * Real cross-chain moves on a 3-chain devnet running LayerZero's production stack (SendUln302 /
 * ReceiveUln302, two DVNs, executor): ONFT A→B→C, the adapter's lock/unlock, in-flight observability
 * with a DVN delay, the executor's failure switch (out of gas), a reverting delivery, and a packet
 * the destination cannot commit.
 */
import { decodeErrorResult, getAbiItem, keccak256, pad, parseEventLogs, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { LegacyERC721Abi } from "../../abis/LegacyERC721Abi.js";
import { quoteSend, sendToken, tokenIdInRange } from "../../chain/onft.js";
import { startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { Devnet } from "../../devnet/start.js";
import { decodeOnftMessage, decodePacket } from "../../chain/layerzero/lzPacket.js";
import { accounts, chainAt, collectionOn, deployer, ownerOf, signerFor, startTestDevnet, waitFor } from "../helpers/devnet.js";

let devnet: Devnet;
const alice = accounts[1]!;
const bob = accounts[2]!;
const carol = accounts[3]!;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 3 });
});
afterAll(async () => {
  await devnet?.stop();
});

async function mintCosmic(chainIndex: number, serial: bigint, to: `0x${string}`): Promise<bigint> {
  const chain = chainAt(devnet.deployments, chainIndex);
  const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
  const tokenId = tokenIdInRange(chain.eid, serial);
  await signerFor(chain, deployer.privateKey).write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [to, tokenId] });
  return tokenId;
}

describe("devnet bridge", () => {
  it("sends a token A→B→C paying the quoteSend fee; it exists only at its destination", async () => {
    const [a, b, c] = [0, 1, 2].map((i) => chainAt(devnet.deployments, i));
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a!.chainId);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b!.chainId);
    const cosmicC = collectionOn(devnet.deployments, "cosmic", c!.chainId);
    const tokenId = await mintCosmic(0, 1n, alice.address);
    expect(await ownerOf(a!, cosmicA.token, tokenId)).toBe(alice.address);

    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
    try {
      const fee = await quoteSend(signerFor(a!, alice.privateKey).publicClient, cosmicA, { tokenId, dstEid: b!.eid, to: bob.address });
      // The workers' fees (test/bridge/fees.test.ts checks the breakdown), not a fixed toy fee.
      expect(fee.nativeFee).toBeGreaterThan(100n);
      const first = await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId, dstEid: b!.eid, to: bob.address });
      expect(first.fee).toEqual(fee);
      expect(first.guid).toMatch(/^0x[0-9a-f]{64}$/);
      await workers.idle();
      expect(await ownerOf(b!, cosmicB.token, tokenId)).toBe(bob.address);
      expect(await ownerOf(a!, cosmicA.token, tokenId)).toBeNull();

      const second = await sendToken({ signer: signerFor(b!, bob.privateKey), deployment: cosmicB, tokenId, dstEid: c!.eid, to: carol.address });
      await workers.idle();
      expect(await ownerOf(c!, cosmicC.token, tokenId)).toBe(carol.address);
      expect(await ownerOf(b!, cosmicB.token, tokenId)).toBeNull();
      expect(await ownerOf(a!, cosmicA.token, tokenId)).toBeNull();
      expect(workers.delivered).toBe(2);

      // The ONFTReceived on C carries the guid of the B→C send.
      const received = await signerFor(c!, deployer.privateKey).publicClient.getLogs({
        address: cosmicC.address,
        event: getAbiItem({ abi: CosmicONFT721Abi, name: "ONFTReceived" }),
        fromBlock: 0n,
        strict: true,
      });
      expect(received.map((log) => log.args.guid)).toEqual([second.guid]);
    } finally {
      await workers.stop();
    }
  });

  it("locks a legacy token in the adapter on send and unlocks it on the way back", async () => {
    const [a, b] = [0, 1].map((i) => chainAt(devnet.deployments, i));
    const adapter = collectionOn(devnet.deployments, "legacy", a!.chainId);
    const legacyB = collectionOn(devnet.deployments, "legacy", b!.chainId);
    expect(adapter.kind).toBe("adapter");
    const tokenId = 7n;
    await signerFor(a!, deployer.privateKey).write({ address: adapter.token, abi: LegacyERC721Abi, functionName: "mint", args: [alice.address, tokenId] });

    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
    try {
      await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: adapter, tokenId, dstEid: b!.eid, to: bob.address });
      expect(await ownerOf(a!, adapter.token, tokenId)).toBe(adapter.address); // locked
      await workers.idle();
      expect(await ownerOf(b!, legacyB.token, tokenId)).toBe(bob.address);

      await sendToken({ signer: signerFor(b!, bob.privateKey), deployment: legacyB, tokenId, dstEid: a!.eid, to: carol.address });
      expect(await ownerOf(b!, legacyB.token, tokenId)).toBeNull();
      await workers.idle();
      expect(await ownerOf(a!, adapter.token, tokenId)).toBe(carol.address); // unlocked
    } finally {
      await workers.stop();
    }
  });

  it("with a delivery delay the token is absent on both chains until delivered", async () => {
    const [a, b] = [0, 1].map((i) => chainAt(devnet.deployments, i));
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a!.chainId);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b!.chainId);
    const tokenId = await mintCosmic(0, 2n, alice.address);
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50, delayMs: 1500 });
    try {
      await workers.idle(); // packets of earlier tests are already delivered: nothing pending
      const sentAt = Date.now();
      await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId, dstEid: b!.eid, to: bob.address });
      let observedInFlight = 0;
      while (Date.now() - sentAt < 1000) {
        expect(await ownerOf(a!, cosmicA.token, tokenId)).toBeNull();
        expect(await ownerOf(b!, cosmicB.token, tokenId)).toBeNull();
        observedInFlight++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(observedInFlight).toBeGreaterThan(3);
      await waitFor(async () => (await ownerOf(b!, cosmicB.token, tokenId)) === bob.address, 10_000, "delayed delivery");
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
      // The token is bob's as soon as the delivery is mined; the executor counts it once its own
      // receipt poll returns (up to one polling interval later): wait for the workers to settle.
      await workers.idle();
      expect(workers.delivered).toBe(1);
    } finally {
      await workers.stop();
    }
  });

  it("failure switch: the executor runs the delivery out of gas → LzReceiveAlert, nothing minted, the packet stays verified", async () => {
    const [a, b] = [0, 1].map((i) => chainAt(devnet.deployments, i));
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a!.chainId);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b!.chainId);
    const tokenId = await mintCosmic(0, 3n, alice.address);
    const workers = await startLayerZeroWorkers({
      deployments: devnet.deployments,
      pollingIntervalMs: 50,
      shouldFail: (packet) => decodeOnftMessage(packet.message).tokenId === tokenId,
    });
    try {
      const sent = await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId, dstEid: b!.eid, to: bob.address });
      await workers.idle();
      expect(workers.failed).toBe(1);
      expect(workers.delivered).toBe(0);
      expect(await ownerOf(b!, cosmicB.token, tokenId)).toBeNull();
      expect(await ownerOf(a!, cosmicA.token, tokenId)).toBeNull();

      const clientB = signerFor(b!, deployer.privateKey).publicClient;
      const alerts = await clientB.getLogs({
        address: b!.endpoint,
        event: getAbiItem({ abi: EndpointV2Abi, name: "LzReceiveAlert" }),
        args: { receiver: cosmicB.address },
        fromBlock: 0n,
        strict: true,
      });
      const alert = alerts.find((log) => log.args.guid === sent.guid);
      expect(alert).toBeDefined();
      // Emitted by the Executor contract's catch, as on mainnet; an out-of-gas carries no revert data.
      expect(alert!.args.executor).toBe(b!.layerZero.executor.address);
      expect(alert!.args.reason).toBe("0x");

      // Still verified: the payload hash is stored and the packet can be retried.
      const packetSent = parseEventLogs({ abi: EndpointV2Abi, eventName: "PacketSent", logs: sent.receipt.logs })[0]!;
      const packet = decodePacket(packetSent.args.encodedPayload);
      const stored = await clientB.readContract({
        address: b!.endpoint,
        abi: EndpointV2Abi,
        functionName: "inboundPayloadHash",
        args: [cosmicB.address, packet.srcEid, packet.sender, packet.nonce],
      });
      expect(stored).not.toBe(zeroHash);
      expect(stored).toBe(keccak256(packet.payload));
    } finally {
      await workers.stop();
    }

    // A restarted worker set sees the alert on chain and does not execute the packet again.
    const again = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
    try {
      await again.idle();
      expect(again.delivered).toBe(0);
      expect(again.failed).toBe(1);
    } finally {
      await again.stop();
    }
  });
  it("a delivery that would revert becomes an LzReceiveAlert carrying the revert data", async () => {
    const [a, c] = [0, 2].map((i) => chainAt(devnet.deployments, i));
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a!.chainId);
    const cosmicC = collectionOn(devnet.deployments, "cosmic", c!.chainId);
    const owner = signerFor(c!, deployer.privateKey);
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50 });
    try {
      // The path A→C is initialised by a first delivery; then C stops trusting A, so lzReceive reverts (OnlyPeer).
      const first = await mintCosmic(0, 4n, alice.address);
      await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId: first, dstEid: c!.eid, to: bob.address });
      await workers.idle();
      expect(await ownerOf(c!, cosmicC.token, first)).toBe(bob.address);
      const failedBefore = workers.failed; // the earlier test's alerted packet counts as failed here too
      const stranger = pad(carol.address, { size: 32 });
      await owner.write({ address: cosmicC.address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [a!.eid, stranger] });

      const second = await mintCosmic(0, 5n, alice.address);
      const sent = await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId: second, dstEid: c!.eid, to: bob.address });
      const alertsOnC = () =>
        owner.publicClient.getLogs({
          address: c!.endpoint,
          event: getAbiItem({ abi: EndpointV2Abi, name: "LzReceiveAlert" }),
          args: { receiver: cosmicC.address },
          fromBlock: 0n,
          strict: true,
        });
      await workers.idle(); // honest: covers the send above (test/devnet/workers-idle.test.ts)
      expect(workers.failed).toBe(failedBefore + 1);
      expect(await ownerOf(c!, cosmicC.token, second)).toBeNull();
      const alert = (await alertsOnC()).find((log) => log.args.guid === sent.guid)!;
      expect(alert).toBeDefined();
      const decoded = decodeErrorResult({ abi: CosmicONFT721Abi, data: alert.args.reason });
      expect(decoded.errorName).toBe("OnlyPeer");
    } finally {
      await owner.write({ address: cosmicC.address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [a!.eid, pad(cosmicA.address, { size: 32 })] });
      await workers.stop();
    }
  });
  it("a packet the destination cannot commit stays in flight and does not stall the workers", async () => {
    const [a, c] = [0, 2].map((i) => chainAt(devnet.deployments, i));
    const adapter = collectionOn(devnet.deployments, "legacy", a!.chainId);
    const legacyC = collectionOn(devnet.deployments, "legacy", c!.chainId);
    const owner = signerFor(c!, deployer.privateKey);
    // C does not trust A before the path A→C was ever used: the DVNs verify, but the path cannot be
    // initialised, so ReceiveUln302View says NotInitializable and nobody can commit.
    await owner.write({ address: legacyC.address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [a!.eid, pad(carol.address, { size: 32 })] });
    const lines: string[] = [];
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50, log: (line) => lines.push(line) });
    try {
      const tokenId = 8n;
      await signerFor(a!, deployer.privateKey).write({ address: adapter.token, abi: LegacyERC721Abi, functionName: "mint", args: [alice.address, tokenId] });
      await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: adapter, tokenId, dstEid: c!.eid, to: bob.address });
      await workers.idle(); // resolves: the packet is given up, not retried forever
      expect(lines.some((line) => line.includes("cannot be committed"))).toBe(true);
      expect(await ownerOf(a!, adapter.token, tokenId)).toBe(adapter.address); // still locked
      expect(await ownerOf(c!, legacyC.token, tokenId)).toBeNull();
    } finally {
      await owner.write({ address: legacyC.address, abi: CosmicONFT721Abi, functionName: "setPeer", args: [a!.eid, pad(adapter.address, { size: 32 })] });
      await workers.stop();
    }
  });
});
