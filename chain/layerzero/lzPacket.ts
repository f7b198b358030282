/**
 * LayerZero V2 packet codec (PacketV1Codec): the layout EndpointV2 puts in `PacketSent.encodedPayload`
 * and the guid formula of `GUID.generate`. LayerZero ships this only in Solidity, so it is written
 * here once, on viem's hex helpers, for the indexer and the relayer. Pure: safe in indexing code.
 *
 * Layout: version u8 | nonce u64 | srcEid u32 | sender b32 | dstEid u32 | receiver b32 | guid b32 | message
 */
import { type Address, type Hex, encodePacked, getAddress, hexToBigInt, hexToNumber, keccak256, size, slice } from "viem";
import { CosmicError } from "../../infra/errors.js";

export type LzPacket = {
  version: number;
  nonce: bigint;
  srcEid: number;
  /** bytes32 sender (an EVM address left-padded). */
  sender: Hex;
  dstEid: number;
  receiver: Hex;
  guid: Hex;
  message: Hex;
  /** `guid ++ message`: what the endpoint hashes into `inboundPayloadHash`. */
  payload: Hex;
};

export class InvalidPacketError extends CosmicError {
  override name = "InvalidPacketError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", "INVALID_PACKET", message, options);
  }
}

const HEADER_SIZE = 81; // 1 + 8 + 4 + 32 + 4 + 32

export function decodePacket(encoded: Hex): LzPacket {
  if (size(encoded) < HEADER_SIZE + 32) throw new InvalidPacketError(`packet too short: ${size(encoded)} bytes`);
  const version = hexToNumber(slice(encoded, 0, 1));
  if (version !== 1) throw new InvalidPacketError(`unsupported packet version ${version}`);
  return {
    version,
    nonce: hexToBigInt(slice(encoded, 1, 9)),
    srcEid: hexToNumber(slice(encoded, 9, 13)),
    sender: slice(encoded, 13, 45),
    dstEid: hexToNumber(slice(encoded, 45, 49)),
    receiver: slice(encoded, 49, 81),
    guid: slice(encoded, 81, 113),
    message: size(encoded) > 113 ? slice(encoded, 113) : "0x",
    payload: slice(encoded, 81),
  };
}

/** `GUID.generate(nonce, srcEid, sender, dstEid, receiver)` of the LayerZero protocol. */
export function computeGuid(args: { nonce: bigint; srcEid: number; sender: Hex; dstEid: number; receiver: Hex }): Hex {
  return keccak256(encodePacked(["uint64", "uint32", "bytes32", "uint32", "bytes32"], [args.nonce, args.srcEid, args.sender, args.dstEid, args.receiver]));
}

/** bytes32 → address (the low 20 bytes). */
export function bytes32ToAddress(value: Hex): Address {
  return getAddress(slice(value, 12, 32));
}

/**
 * ONFT721 message (ONFT721MsgCodec): `sendTo b32 | tokenId u256 [| composeMsg]`.
 */
export function decodeOnftMessage(message: Hex): { to: Address; tokenId: bigint; composed: boolean } {
  if (size(message) < 64) throw new InvalidPacketError(`ONFT message too short: ${size(message)} bytes`);
  return { to: bytes32ToAddress(slice(message, 0, 32)), tokenId: hexToBigInt(slice(message, 32, 64)), composed: size(message) > 64 };
}
