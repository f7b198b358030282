/**
 * Reads the progress of bridges in flight from their destination chain (the same calls on every
 * network, the devnet included): the receive library and its ULN config per (receiver, source EID)
 * (`EndpointV2.getReceiveLibrary` + `getConfig`), per packet the endpoint's `inboundPayloadHash` and
 * `lazyInboundNonce`, and while it is not committed each DVN's `ReceiveUln302.hashLookup`. All of a
 * chain's calls go out as one JSON-RPC batch (or Multicall3 where the chain has it: see
 * trackerClient.ts).
 *
 * `commitVerification` deletes the per-DVN entries, so when a step is first seen the transactions
 * behind it are looked up in the blocks since the last read: ReceiveUln302's `PayloadVerified` (the
 * DVN and our header) and the endpoint's `PacketVerified` (our origin, receiver and payload hash).
 */
import { type Address, type Hex, type PublicClient, concatHex, getAbiItem, keccak256, numberToHex, pad, zeroHash } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import { type ReceivePathway, readReceivePathway } from "../../chain/layerzero/pathway.js";
import type { BridgeProgress, DvnProgress, StepOnChain } from "./progress.js";

/** What the tracker knows of a bridge in flight (from its indexed send). */
export type InFlight = {
  guid: Hex;
  srcChainId: number;
  dstChainId: number;
  srcEid: number;
  dstEid: number;
  nonce: bigint;
  /** The sending OApp and the receiving one. */
  sender: Address;
  receiver: Address;
  message: Hex;
  sendBlock: bigint;
};

/** Blocks looked back for a step's transaction when nothing narrower is known. */
export const LOOKBACK_BLOCKS = 5_000n;

const payloadVerifiedEvent = getAbiItem({ abi: ReceiveUln302Abi, name: "PayloadVerified" });
const packetVerifiedEvent = getAbiItem({ abi: EndpointV2Abi, name: "PacketVerified" });

/** PacketV1Codec's header: version 1 | nonce u64 | srcEid u32 | sender b32 | dstEid u32 | receiver b32. */
export function packetHeader(p: Pick<InFlight, "nonce" | "srcEid" | "dstEid" | "sender" | "receiver">): Hex {
  return concatHex([
    numberToHex(1, { size: 1 }),
    numberToHex(p.nonce, { size: 8 }),
    numberToHex(p.srcEid, { size: 4 }),
    pad(p.sender, { size: 32 }),
    numberToHex(p.dstEid, { size: 4 }),
    pad(p.receiver, { size: 32 }),
  ]);
}
export const payloadHashOf = (p: Pick<InFlight, "guid" | "message">): Hex => keccak256(concatHex([p.guid, p.message]));

type Chain = { client: PublicClient; endpoint: Address };

/**
 * New progress of each bridge (on one destination chain) at block `head`. `previous` are the last
 * stored progresses (their observed block bounds the log search); `sourceHeads` the source chains'
 * heads (confirmations so far). `pathways` caches the receive configs between calls.
 */
export async function readProgress(args: {
  dst: Chain;
  head: { number: bigint; timestamp: bigint };
  bridges: InFlight[];
  previous: Map<string, BridgeProgress>;
  sourceHeads: Map<number, bigint>;
  pathways: Map<string, { at: number; value: Promise<ReceivePathway> }>;
  pathwayTtlMs?: number;
  nowMs?: number;
}): Promise<BridgeProgress[]> {
  const { dst, head, bridges, previous } = args;
  const nowMs = args.nowMs ?? Date.now();
  const pathwayOf = (b: InFlight) => {
    const key = `${b.receiver.toLowerCase()}:${b.srcEid}`;
    const hit = args.pathways.get(key);
    if (hit && nowMs - hit.at < (args.pathwayTtlMs ?? 30_000)) return hit.value;
    const value = readReceivePathway(dst.client, { endpoint: dst.endpoint, oapp: b.receiver, srcEid: b.srcEid });
    value.catch(() => args.pathways.delete(key));
    args.pathways.set(key, { at: nowMs, value });
    return value;
  };

  const read = await Promise.all(
    bridges.map(async (b) => {
      const pathway = await pathwayOf(b);
      const sender32 = pad(b.sender, { size: 32 });
      const [stored, lazy] = await Promise.all([
        dst.client.readContract({
          address: dst.endpoint,
          abi: EndpointV2Abi,
          functionName: "inboundPayloadHash",
          args: [b.receiver, b.srcEid, sender32, b.nonce],
          blockNumber: head.number,
        }),
        dst.client.readContract({
          address: dst.endpoint,
          abi: EndpointV2Abi,
          functionName: "lazyInboundNonce",
          args: [b.receiver, b.srcEid, sender32],
          blockNumber: head.number,
        }),
      ]);
      const expected = payloadHashOf(b);
      const committed = stored !== zeroHash && stored === expected;
      const cleared = stored === zeroHash && lazy >= b.nonce;
      const dvnAddresses = [
        ...pathway.uln.requiredDVNs.map((a) => ({ address: a, required: true })),
        ...pathway.uln.optionalDVNs.map((a) => ({ address: a, required: false })),
      ];
      const headerHash = keccak256(packetHeader(b));
      const lookups =
        committed || cleared
          ? undefined
          : await Promise.all(
              dvnAddresses.map((d) =>
                dst.client.readContract({
                  address: pathway.receiveLibrary.address,
                  abi: ReceiveUln302Abi,
                  functionName: "hashLookup",
                  args: [headerHash, expected, d.address],
                  blockNumber: head.number,
                }),
              ),
            );
      return { b, pathway, committed, cleared, dvnAddresses, lookups, expected };
    }),
  );

  const out: BridgeProgress[] = [];
  for (const r of read) {
    const prev = previous.get(r.b.guid);
    const prevDvn = new Map((prev?.dvns ?? []).map((d) => [d.address.toLowerCase(), d]));
    const dvns: DvnProgress[] = r.dvnAddresses.map((d, i) => {
      const before = prevDvn.get(d.address.toLowerCase());
      const lookup = r.lookups?.[i];
      // After the commit the per-DVN entries are gone: keep what was seen (or found in the logs below).
      const verified = lookup ? lookup[0] : (before?.verified ?? false);
      return {
        address: d.address,
        required: d.required,
        verified,
        confirmations: lookup?.[0] ? Number(lookup[1]) : (before?.confirmations ?? null),
        step: before?.step ?? null,
      };
    });
    const srcHead = args.sourceHeads.get(r.b.srcChainId);
    out.push({
      guid: r.b.guid,
      srcChainId: r.b.srcChainId,
      dstChainId: r.b.dstChainId,
      sendBlock: Number(r.b.sendBlock),
      sourceConfirmations: srcHead !== undefined ? Math.max(0, Number(srcHead - r.b.sendBlock + 1n)) : (prev?.sourceConfirmations ?? 0),
      requiredConfirmations: Number(r.pathway.uln.confirmations),
      requiredDvnCount: r.pathway.uln.requiredDVNs.length,
      optionalDvnThreshold: r.pathway.uln.optionalDVNThreshold,
      dvns,
      committed: r.committed || r.cleared ? (prev?.committed ?? { payloadHash: r.expected, step: null }) : null,
      clearedOnChain: r.cleared,
      observedBlock: Number(head.number),
      observedAt: new Date(nowMs).toISOString(),
    });
  }

  await findSteps({
    dst,
    head: head.number,
    bridges: read.map((r) => r.b),
    progress: out,
    previous,
    libraries: new Map(read.map((r) => [r.b.guid, r.pathway.receiveLibrary.address])),
  });
  return out;
}

/**
 * Fills in the transactions behind steps seen for the first time (a DVN verified, or the commit; a
 * commit seen with DVNs never seen verified: their PayloadVerified tell who attested), searching the
 * blocks after the previous read.
 */
async function findSteps(args: {
  dst: Chain;
  head: bigint;
  bridges: InFlight[];
  progress: BridgeProgress[];
  previous: Map<string, BridgeProgress>;
  libraries: Map<string, Address>;
}) {
  const { dst, head } = args;
  // A step seen without its transaction; a commit seen for the first time (the DVNs' entries are
  // gone then: their PayloadVerified say who attested).
  const needs = args.progress.filter(
    (p) => (p.committed && (!p.committed.step || !args.previous.get(p.guid)?.committed)) || p.dvns.some((d) => d.verified && !d.step),
  );
  if (!needs.length) return;
  const fromOf = (p: BridgeProgress) => {
    const prev = args.previous.get(p.guid);
    const from = prev ? BigInt(prev.observedBlock) - 1n : head - LOOKBACK_BLOCKS;
    return from < 0n ? 0n : from;
  };
  const fromBlock = needs.map(fromOf).reduce((a, b) => (a < b ? a : b));
  const libraries = [...new Set(needs.map((p) => args.libraries.get(p.guid)!))];
  const [payloadLogs, packetLogs] = await Promise.all([
    dst.client.getLogs({ address: libraries, event: payloadVerifiedEvent, fromBlock, toBlock: head, strict: true }),
    dst.client.getLogs({ address: dst.endpoint, event: packetVerifiedEvent, fromBlock, toBlock: head, strict: true }),
  ]);
  const blockTimes = new Map<bigint, Promise<bigint>>();
  const timeOf = (n: bigint) => {
    let t = blockTimes.get(n);
    if (!t) blockTimes.set(n, (t = dst.client.getBlock({ blockNumber: n }).then((b) => b.timestamp)));
    return t;
  };
  const step = async (log: { transactionHash: Hex; blockNumber: bigint }): Promise<StepOnChain> => ({
    txHash: log.transactionHash,
    blockNumber: Number(log.blockNumber),
    at: new Date(Number(await timeOf(log.blockNumber)) * 1000).toISOString(),
  });
  const bridgeOf = new Map(args.bridges.map((b) => [b.guid, b]));
  await Promise.all(
    needs.map(async (p) => {
      const b = bridgeOf.get(p.guid)!;
      const header = packetHeader(b).toLowerCase();
      const mine = payloadLogs.filter((l) => l.args.header.toLowerCase() === header);
      for (const d of p.dvns) {
        const found = mine.find((l) => l.args.dvn.toLowerCase() === d.address.toLowerCase());
        if (!found) continue;
        if (!d.step) d.step = await step(found);
        if (!d.verified) {
          d.verified = true;
          d.confirmations = Number(found.args.confirmations);
        }
      }
      if (p.committed && !p.committed.step) {
        const expected = payloadHashOf(b);
        const commit = packetLogs.find(
          (l) =>
            l.args.receiver.toLowerCase() === b.receiver.toLowerCase() &&
            l.args.origin.srcEid === b.srcEid &&
            l.args.origin.nonce === b.nonce &&
            l.args.payloadHash === expected,
        );
        if (commit) p.committed = { payloadHash: commit.args.payloadHash, step: await step(commit) };
      }
    }),
  );
}
