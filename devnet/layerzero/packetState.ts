/**
 * What the destination chain says about a packet: the one source of truth of every devnet worker
 * (none of them trusts its own memory, so any of them can be stopped and restarted anywhere).
 */
import { type Address, type Hex, keccak256, slice, zeroHash } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import type { ChainSigner } from "../../chain/signer.js";
import { bytes32ToAddress } from "../../chain/layerzero/lzPacket.js";
import type { SentPacket } from "./packetFeed.js";

/** PacketV1Codec: the 81-byte header (version, nonce, srcEid, sender, dstEid, receiver). */
export const packetHeader = (sent: SentPacket): Hex => slice(sent.encoded, 0, 81);
export const payloadHash = (sent: SentPacket): Hex => keccak256(sent.packet.payload);
export const receiverOf = (sent: SentPacket): Address => bytes32ToAddress(sent.packet.receiver);
export const originOf = (sent: SentPacket) => ({ srcEid: sent.packet.srcEid, sender: sent.packet.sender, nonce: sent.packet.nonce });

export type InboundState =
  | { kind: "delivered" }
  /** Committed on the endpoint (PacketVerified): executable. */
  | { kind: "committed" }
  /** Not committed yet: DVNs verify, then a commit. */
  | { kind: "verifying" }
  /** The endpoint holds another payload for this nonce: nothing to deliver. */
  | { kind: "conflict"; storedHash: Hex };

export async function readInbound(client: ChainSigner["publicClient"], endpoint: Address, sent: SentPacket): Promise<InboundState> {
  const receiver = receiverOf(sent);
  const { srcEid, sender, nonce } = sent.packet;
  const [storedHash, lazyNonce] = await Promise.all([
    client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "inboundPayloadHash", args: [receiver, srcEid, sender, nonce] }),
    client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "lazyInboundNonce", args: [receiver, srcEid, sender] }),
  ]);
  if (storedHash === zeroHash) return lazyNonce >= nonce ? { kind: "delivered" } : { kind: "verifying" };
  return storedHash === payloadHash(sent) ? { kind: "committed" } : { kind: "conflict", storedHash };
}
