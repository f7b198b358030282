/**
 * LayerZero's off-chain workers on the devnet's production stack (devnet/layerzero/workers.ts):
 * each decides from chain state, so a worker set stopped between any two steps of a packet and
 * started again delivers it exactly once; a DVN offline holds the packet before its commit, the
 * executor offline holds it after; a sender that paid for too little lzReceive gas gets an
 * out-of-gas LzReceiveAlert; DVNs wait for the pathway's block confirmations.
 */
import { type Hex, getAbiItem, keccak256, parseEventLogs, zeroHash } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import { ONFT_SEND, lzReceiveOptions } from "../../chain/layerzero/options.js";
import { type SentToken, sendToken, tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { COMMITTER_INDEX, DVN_ADMIN_INDEX, devnetAccount, dvnSignerAccount } from "../../devnet/accounts.js";
import type { ChainDeployment, Deployments } from "../../chain/deployments.js";
import { commitVerification } from "../../devnet/layerzero/committer.js";
import { verifyAsDvn } from "../../devnet/layerzero/dvnVerifier.js";
import type { SentPacket } from "../../devnet/layerzero/packetFeed.js";
import { packetHeader, payloadHash } from "../../devnet/layerzero/packetState.js";
import { startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { Devnet } from "../../devnet/start.js";
import { decodePacket } from "../../chain/layerzero/lzPacket.js";
import { accounts, chainAt, collectionOn, deployer, ownerOf, signerFor, startTestDevnet } from "../helpers/devnet.js";

let devnet: Devnet;
const alice = accounts[1]!;
const bob = accounts[2]!;
let serial = 1n;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2 });
});
afterAll(async () => {
  await devnet?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function mintAndSend(d: Deployments = devnet.deployments): Promise<{ tokenId: bigint; sent: SentToken }> {
  const [a, b] = [chainAt(d, 0), chainAt(d, 1)];
  const cosmicA = collectionOn(d, "cosmic", a.chainId);
  const tokenId = tokenIdInRange(a.eid, serial++);
  await signerFor(a, deployer.privateKey).write({ address: cosmicA.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, tokenId] });
  const sent = await sendToken({ signer: signerFor(a, alice.privateKey), deployment: cosmicA, tokenId, dstEid: b.eid, to: bob.address });
  return { tokenId, sent };
}

/** The SentPacket a worker would build from the send's receipt. */
function sentPacket(sent: SentToken): SentPacket {
  const log = parseEventLogs({ abi: EndpointV2Abi, eventName: "PacketSent", logs: sent.receipt.logs })[0]!;
  const packet = decodePacket(log.args.encodedPayload);
  const pathKey = `${packet.srcEid}:${packet.sender}:${packet.dstEid}:${packet.receiver}`;
  return {
    key: `${pathKey}:${packet.nonce}`,
    pathKey,
    packet,
    encoded: log.args.encodedPayload,
    options: log.args.options,
    blockNumber: log.blockNumber,
    txHash: log.transactionHash,
    seenAt: 0,
  };
}

/** DVN i of the devnet verifies the packet on chain b, as its worker would. */
async function verifyByHand(b: ChainDeployment, i: number, sent: SentToken) {
  const dvn = b.layerZero.dvns[i]!;
  const admin = createChainSigner({ chainId: b.chainId, rpcUrl: b.rpcUrl, privateKey: devnetAccount(DVN_ADMIN_INDEX + i).privateKey, pollingInterval: 20 });
  const signers = Array.from({ length: devnet.deployments.layerZeroSettings.dvnSigners }, (_, j) => privateKeyToAccount(dvnSignerAccount(i, j).privateKey));
  return await verifyAsDvn({ admin, dvn, signers, receiveUln302: b.layerZero.receiveUln302, sent: sentPacket(sent), confirmations: 1n });
}

async function events(b: ChainDeployment, fromBlock: bigint) {
  const client = signerFor(b, deployer.privateKey).publicClient;
  const [payloadVerified, packetVerified, delivered, alerts] = await Promise.all([
    client.getLogs({ address: b.layerZero.receiveUln302, event: getAbiItem({ abi: ReceiveUln302Abi, name: "PayloadVerified" }), fromBlock, strict: true }),
    client.getLogs({ address: b.endpoint, event: getAbiItem({ abi: EndpointV2Abi, name: "PacketVerified" }), fromBlock, strict: true }),
    client.getLogs({ address: b.endpoint, event: getAbiItem({ abi: EndpointV2Abi, name: "PacketDelivered" }), fromBlock, strict: true }),
    client.getLogs({ address: b.endpoint, event: getAbiItem({ abi: EndpointV2Abi, name: "LzReceiveAlert" }), fromBlock, strict: true }),
  ]);
  return { payloadVerified, packetVerified, delivered, alerts };
}

const headOf = async (c: ChainDeployment) => await signerFor(c, deployer.privateKey).publicClient.getBlockNumber({ cacheTime: 0 });

describe("LayerZero workers", () => {
  it("stopped between any two steps of a packet, a new worker set delivers each exactly once", async () => {
    const b = chainAt(devnet.deployments, 1);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const fromBlock = (await headOf(b)) + 1n;
    // A first set sees the packets but is stopped before its (long) DVN delay expires.
    const first = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20, delayMs: 60_000 });
    const sends = [await mintAndSend(), await mintAndSend(), await mintAndSend()];
    await sleep(200);
    await first.stop();
    expect(first.delivered).toBe(0);
    // Packet 2: as if the worker set died after both DVNs and the commit; packet 3: after one DVN.
    await verifyByHand(b, 0, sends[1]!.sent);
    await verifyByHand(b, 1, sends[1]!.sent);
    const committer = createChainSigner({ chainId: b.chainId, rpcUrl: b.rpcUrl, privateKey: devnetAccount(COMMITTER_INDEX).privateKey, pollingInterval: 20 });
    await commitVerification(committer, b.layerZero.receiveUln302, sentPacket(sends[1]!.sent));
    await verifyByHand(b, 0, sends[2]!.sent);

    const second = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    await second.idle({ timeoutMs: 30_000 });
    await second.stop();
    expect(second.delivered).toBe(3);
    for (const { tokenId } of sends) expect(await ownerOf(b, cosmicB.token, tokenId)).toBe(bob.address);

    const third = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    await third.idle({ timeoutMs: 30_000 });
    await third.stop();
    expect([third.delivered, third.skipped]).toEqual([0, 3]);

    const seen = await events(b, fromBlock);
    // Each DVN attested each packet once (the hand-made attestations were not repeated), one commit
    // and one delivery per packet, in nonce order.
    expect(seen.payloadVerified).toHaveLength(6);
    expect(seen.packetVerified).toHaveLength(3);
    expect(seen.delivered.map((l) => l.args.origin.nonce)).toEqual(sends.map((s) => sentPacket(s.sent).packet.nonce));
    expect(seen.alerts).toEqual([]);
  });

  it("with a DVN offline the packet stays uncommitted; it is delivered when the DVN comes back", async () => {
    const b = chainAt(devnet.deployments, 1);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20, offline: { dvns: [1] } });
    try {
      await workers.idle({ timeoutMs: 30_000 });
      const { tokenId, sent } = await mintAndSend();
      await expect(workers.idle({ timeoutMs: 1_000 })).rejects.toThrow(/1 packets not delivered yet/);
      const client = signerFor(b, deployer.privateKey).publicClient;
      const packet = sentPacket(sent);
      const lookup = (i: number) =>
        client.readContract({
          address: b.layerZero.receiveUln302,
          abi: ReceiveUln302Abi,
          functionName: "hashLookup",
          args: [keccak256(packetHeader(packet)), payloadHash(packet), b.layerZero.dvns[i]!.address],
        });
      expect((await lookup(0))[0]).toBe(true);
      expect((await lookup(1))[0]).toBe(false);
      const inbound = await client.readContract({
        address: b.endpoint,
        abi: EndpointV2Abi,
        functionName: "inboundPayloadHash",
        args: [cosmicB.address, packet.packet.srcEid, packet.packet.sender, packet.packet.nonce],
      });
      expect(inbound).toBe(zeroHash);
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBeNull();

      workers.dvn(1).start();
      await workers.idle({ timeoutMs: 30_000 });
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBe(bob.address);
    } finally {
      await workers.stop();
    }
  });

  it("with the executor offline the packet is committed but not delivered until it returns", async () => {
    const b = chainAt(devnet.deployments, 1);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20, offline: { executor: true } });
    try {
      const { tokenId, sent } = await mintAndSend();
      await expect(workers.idle({ timeoutMs: 1_000 })).rejects.toThrow(/1 packets not delivered yet/);
      const packet = sentPacket(sent);
      const inbound = await signerFor(b, deployer.privateKey).publicClient.readContract({
        address: b.endpoint,
        abi: EndpointV2Abi,
        functionName: "inboundPayloadHash",
        args: [cosmicB.address, packet.packet.srcEid, packet.packet.sender, packet.packet.nonce],
      });
      expect(inbound).toBe(payloadHash(packet)); // committed: PacketVerified
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBeNull();
      workers.executor.start();
      await workers.idle({ timeoutMs: 30_000 });
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBe(bob.address);
    } finally {
      await workers.stop();
    }
  });

  it("a sender that paid for too little lzReceive gas gets an out-of-gas LzReceiveAlert; the packet stays verified", async () => {
    const [a, b] = [chainAt(devnet.deployments, 0), chainAt(devnet.deployments, 1)];
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a.chainId);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const owner = signerFor(a, deployer.privateKey);
    const setEnforced = (options: Hex) =>
      owner.write({
        address: cosmicA.address,
        abi: CosmicONFT721Abi,
        functionName: "setEnforcedOptions",
        args: [[{ eid: b.eid, msgType: ONFT_SEND, options }]],
      });
    const fromBlock = (await headOf(b)) + 1n;
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    await setEnforced(lzReceiveOptions(30_000n)); // enough for the fee libs, far too little for a mint
    try {
      const { tokenId, sent } = await mintAndSend();
      await workers.idle({ timeoutMs: 30_000 });
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBeNull();
      const { alerts, delivered } = await events(b, fromBlock);
      const alert = alerts.find((l) => l.args.guid === sent.guid)!;
      expect(alert.args).toMatchObject({ executor: b.layerZero.executor.address, gas: 30_000n, reason: "0x", receiver: cosmicB.address });
      expect(delivered.some((l) => l.args.receiver === cosmicB.address && l.blockNumber >= alert.blockNumber)).toBe(false);
      const packet = sentPacket(sent);
      const inbound = await signerFor(b, deployer.privateKey).publicClient.readContract({
        address: b.endpoint,
        abi: EndpointV2Abi,
        functionName: "inboundPayloadHash",
        args: [cosmicB.address, packet.packet.srcEid, packet.packet.sender, packet.packet.nonce],
      });
      expect(inbound).toBe(payloadHash(packet));
    } finally {
      await setEnforced(lzReceiveOptions(BigInt(devnet.deployments.layerZeroSettings.lzReceiveGas)));
      await workers.stop();
    }
  });

  it("DVNs wait for the pathway's block confirmations", async () => {
    const slow = await startTestDevnet({ chains: 2, layerZero: { confirmations: 3 } });
    try {
      const [a, b] = [chainAt(slow.deployments, 0), chainAt(slow.deployments, 1)];
      const cosmicB = collectionOn(slow.deployments, "cosmic", b.chainId);
      const workers = await startLayerZeroWorkers({ deployments: slow.deployments, pollingIntervalMs: 20 });
      try {
        const { tokenId } = await mintAndSend(slow.deployments);
        // The send's block is confirmation 1: two more blocks on the source are needed.
        await expect(workers.idle({ timeoutMs: 800 })).rejects.toThrow(/1 packets not delivered yet/);
        expect((await events(b, 0n)).payloadVerified).toEqual([]);
        const rpc = (method: string) =>
          fetch(a.rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
          });
        await rpc("evm_mine");
        await expect(workers.idle({ timeoutMs: 500 })).rejects.toThrow(/1 packets not delivered yet/);
        await rpc("evm_mine");
        await workers.idle({ timeoutMs: 30_000 });
        expect(await ownerOf(b, cosmicB.token, tokenId)).toBe(bob.address);
        const verified = (await events(b, 0n)).payloadVerified;
        expect(verified).toHaveLength(2);
        for (const v of verified) expect(v.args.confirmations).toBe(3n);
      } finally {
        await workers.stop();
      }
    } finally {
      await slow.stop();
    }
  });
});
