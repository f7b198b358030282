/**
 * The devnet workers' view of what was sent: `PacketSent` of every devnet EndpointV2, polled with
 * getLogs from a remembered block per chain (a new feed starts at each chain's deployment
 * `startBlock`, so a restarted worker set finds every packet again and decides from chain state).
 *
 * A chain that is rewound (`evm_revert`, `anvil_reorg`) is detected by the hash of the last polled
 * block: it is rescanned from its start block and the packets of the dropped branch are dropped
 * (those still on chain are found again). The head comes from `getBlock("latest")`, not viem's
 * `getBlockNumber`, which answers from a cache for the client's polling interval.
 */
import { type Hex, getAbiItem } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import type { ChainSigner } from "../../chain/signer.js";
import { type LzPacket, decodePacket } from "../../chain/layerzero/lzPacket.js";
import type { ChainDeployment } from "../../chain/deployments.js";

export type SentPacket = {
  /** `srcEid:sender:dstEid:receiver:nonce`. */
  key: string;
  /** `srcEid:sender:dstEid:receiver`: packets of one path are delivered in nonce order. */
  pathKey: string;
  packet: LzPacket;
  encoded: Hex;
  /** The options the send library was given (enforced + caller's): what the workers were paid for. */
  options: Hex;
  blockNumber: bigint;
  txHash: Hex;
  /** When this feed first saw it (per-worker delays count from here). */
  seenAt: number;
  /** Set when a rewind of the source chain dropped its block. */
  dropped?: boolean;
};

export type FeedChain = {
  chain: ChainDeployment;
  /** Reads only (the workers have their own signers). */
  client: ChainSigner["publicClient"];
  /** Next block to scan. */
  fromBlock: bigint;
  /** Hash of block `fromBlock - 1` when it was scanned (rewind detection). */
  lastHash?: Hex;
  /** The head seen by the last successful poll (source confirmations count from it). */
  head: bigint;
};

const packetSentEvent = getAbiItem({ abi: EndpointV2Abi, name: "PacketSent" });

export type PacketFeed = {
  chains: Map<number, FeedChain>;
  /** Polls one chain; returns the packets it found. Throws on RPC failure (the caller counts it). */
  poll(chain: FeedChain): Promise<SentPacket[]>;
  log: (line: string) => void;
};

export function createPacketFeed(chains: FeedChain[], log: (line: string) => void, onDropped: (packet: SentPacket) => void): PacketFeed {
  const byEid = new Map(chains.map((c) => [c.chain.eid, c]));
  const known = new Map<string, SentPacket>();

  function rewind(state: FeedChain, why: string): void {
    log(`workers: ${state.chain.name} was rewound (${why}): rescanning from block ${state.chain.startBlock}`);
    state.fromBlock = BigInt(state.chain.startBlock);
    state.lastHash = undefined;
    for (const [key, sent] of known) {
      if (sent.packet.srcEid !== state.chain.eid) continue;
      sent.dropped = true;
      known.delete(key);
      onDropped(sent);
    }
  }

  async function poll(state: FeedChain): Promise<SentPacket[]> {
    const latest = await state.client.getBlock({ blockTag: "latest" });
    const head = latest.number;
    if (state.lastHash !== undefined) {
      const last = state.fromBlock - 1n;
      if (head < last) rewind(state, `head ${head} below the last scanned block ${last}`);
      else {
        const hash = head === last ? latest.hash : (await state.client.getBlock({ blockNumber: last })).hash;
        if (hash !== state.lastHash) rewind(state, `block ${last} changed`);
      }
    }
    state.head = head;
    if (head < state.fromBlock) return [];
    const logs = await state.client.getLogs({ address: state.chain.endpoint, event: packetSentEvent, fromBlock: state.fromBlock, toBlock: head, strict: true });
    const found: SentPacket[] = [];
    for (const entry of logs) {
      let packet: LzPacket;
      try {
        packet = decodePacket(entry.args.encodedPayload);
      } catch (error) {
        log(`workers: skipping undecodable PacketSent in tx ${entry.transactionHash}: ${(error as Error).message}`);
        continue;
      }
      const pathKey = `${packet.srcEid}:${packet.sender}:${packet.dstEid}:${packet.receiver}`;
      const key = `${pathKey}:${packet.nonce}`;
      if (known.has(key)) continue;
      if (!byEid.has(packet.dstEid)) {
        log(`workers: packet ${packet.guid} goes to EID ${packet.dstEid}, not a devnet chain: ignored`);
        continue;
      }
      const sent: SentPacket = {
        key,
        pathKey,
        packet,
        encoded: entry.args.encodedPayload,
        options: entry.args.options,
        blockNumber: entry.blockNumber,
        txHash: entry.transactionHash,
        seenAt: Date.now(),
      };
      known.set(key, sent);
      found.push(sent);
    }
    state.fromBlock = head + 1n;
    state.lastHash = latest.hash;
    return found;
  }

  return { chains: byEid, poll, log };
}
