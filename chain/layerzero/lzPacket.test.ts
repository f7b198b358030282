import { type Hex, concat, keccak256, numberToHex, pad, toHex } from "viem";
import { describe, expect, it } from "vitest";
import { InvalidPacketError, bytes32ToAddress, computeGuid, decodeOnftMessage, decodePacket } from "./lzPacket.js";

const sender = pad("0x1111111111111111111111111111111111111111");
const receiver = pad("0x2222222222222222222222222222222222222222");
const to = "0x3333333333333333333333333333333333333333";

/** PacketV1Codec laid out by hand: version | nonce u64 | srcEid u32 | sender | dstEid u32 | receiver | guid | message. */
function encode(nonce: bigint, srcEid: number, dstEid: number, guid: Hex, message: Hex): Hex {
  return concat([
    numberToHex(1, { size: 1 }),
    numberToHex(nonce, { size: 8 }),
    numberToHex(srcEid, { size: 4 }),
    sender,
    numberToHex(dstEid, { size: 4 }),
    receiver,
    guid,
    message,
  ]);
}

describe("LayerZero packet codec", () => {
  it("computes GUID.generate: keccak256 of the packed header fields", () => {
    const manual = keccak256(concat([numberToHex(7n, { size: 8 }), numberToHex(50001, { size: 4 }), sender, numberToHex(50002, { size: 4 }), receiver]));
    expect(computeGuid({ nonce: 7n, srcEid: 50001, sender, dstEid: 50002, receiver })).toBe(manual);
    expect(computeGuid({ nonce: 8n, srcEid: 50001, sender, dstEid: 50002, receiver })).not.toBe(manual);
  });

  it("decodes every header field, the message and the hashed payload", () => {
    const guid = computeGuid({ nonce: 7n, srcEid: 50001, sender, dstEid: 50002, receiver });
    const message = concat([pad(to), toHex(42n, { size: 32 })]);
    const packet = decodePacket(encode(7n, 50001, 50002, guid, message));
    expect(packet).toEqual({ version: 1, nonce: 7n, srcEid: 50001, sender, dstEid: 50002, receiver, guid, message, payload: concat([guid, message]) });
    expect(decodeOnftMessage(packet.message)).toEqual({ to, tokenId: 42n, composed: false });
    expect(bytes32ToAddress(packet.sender)).toBe("0x1111111111111111111111111111111111111111");
  });

  it("tells a composed ONFT message from a plain one", () => {
    expect(decodeOnftMessage(concat([pad(to), toHex(1n, { size: 32 }), "0xabcd"])).composed).toBe(true);
  });

  it("rejects short or unknown packets with InvalidPacketError", () => {
    const guid = pad("0x01");
    expect(() => decodePacket("0x01")).toThrow(InvalidPacketError);
    expect(() => decodePacket(concat(["0x02", encode(1n, 1, 2, guid, "0x").slice(4) as Hex]))).toThrow(/unsupported packet version 2/);
    expect(() => decodeOnftMessage(pad(to))).toThrow(/ONFT message too short/);
  });
});
