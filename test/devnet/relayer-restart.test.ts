/**
 * The relayer decides from chain state: stopped between send and delivery (or between verification
 * and delivery) and started again, it delivers exactly once.
 */
import { getAbiItem, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { SimpleMessageLibAbi } from "../../abis/SimpleMessageLibAbi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { startRelayer } from "../../devnet/relayer.js";
import type { Devnet } from "../../devnet/start.js";
import { accounts, chainAt, collectionOn, deployer, ownerOf, signerFor, startTestDevnet } from "../helpers/devnet.js";

let devnet: Devnet;
const alice = accounts[1]!;
const bob = accounts[2]!;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2 });
});
afterAll(async () => {
  await devnet?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("relayer restart", () => {
  it("stopped between send and delivery, a new relayer delivers exactly once", async () => {
    const [a, b] = [0, 1].map((i) => chainAt(devnet.deployments, i));
    const cosmicA = collectionOn(devnet.deployments, "cosmic", a!.chainId);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b!.chainId);
    const minter = signerFor(a!, deployer.privateKey);
    const ids = [1n, 2n, 3n].map((n) => tokenIdInRange(a!.eid, n));
    for (const id of ids) await minter.write({ address: cosmicA.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, id] });

    // First relayer sees the packets but is stopped before their (long) delay expires.
    const lines: string[] = [];
    const first = await startRelayer({ deployments: devnet.deployments, pollingIntervalMs: 20, delayMs: 60_000, log: (line) => lines.push(line) });
    const sent = [];
    for (const id of ids) sent.push(await sendToken({ signer: signerFor(a!, alice.privateKey), deployment: cosmicA, tokenId: id, dstEid: b!.eid, to: bob.address }));
    await sleep(200);
    await first.stop();
    expect(first.delivered).toBe(0);
    for (const id of ids) expect(await ownerOf(b!, cosmicB.token, id)).toBeNull();

    // Verify the third packet by hand, as if a relayer had died between validatePacket and lzReceive.
    const packetSent = parseEventLogs({ abi: EndpointV2Abi, eventName: "PacketSent", logs: sent[2]!.receipt.logs })[0]!;
    await signerFor(b!, deployer.privateKey).write({
      address: b!.messageLib,
      abi: SimpleMessageLibAbi,
      functionName: "validatePacket",
      args: [packetSent.args.encodedPayload],
    });

    const second = await startRelayer({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    await second.idle();
    await second.stop();
    expect(second.delivered).toBe(3);
    for (const id of ids) expect(await ownerOf(b!, cosmicB.token, id)).toBe(bob.address);

    // A third relayer finds everything delivered and sends nothing.
    const third = await startRelayer({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    await third.idle();
    await third.stop();
    expect(third.delivered).toBe(0);
    expect(third.skipped).toBe(3);

    const client = signerFor(b!, deployer.privateKey).publicClient;
    const [delivered, received, verified] = await Promise.all([
      client.getLogs({ address: b!.endpoint, event: getAbiItem({ abi: EndpointV2Abi, name: "PacketDelivered" }), fromBlock: 0n, strict: true }),
      client.getLogs({ address: cosmicB.address, event: getAbiItem({ abi: CosmicONFT721Abi, name: "ONFTReceived" }), fromBlock: 0n, strict: true }),
      client.getLogs({ address: b!.endpoint, event: getAbiItem({ abi: EndpointV2Abi, name: "PacketVerified" }), fromBlock: 0n, strict: true }),
    ]);
    expect(delivered).toHaveLength(3);
    expect(delivered.map((log) => log.args.origin.nonce)).toEqual([1n, 2n, 3n]); // path order
    expect(received.map((log) => log.args.guid).sort()).toEqual(sent.map((s) => s.guid).sort());
    expect(verified).toHaveLength(3); // the hand-verified packet was not verified twice
  });
});
