import {
  type Address,
  concat,
  encodeErrorResult,
  encodeFunctionData,
  encodePacked,
  getAddress,
  type Hex,
  numberToHex,
  pad as padHex,
  stringToHex,
  zeroAddress,
} from "viem";
import { describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { computeGuid } from "../chain/layerzero/lzPacket.js";
import { classifyTransfer, describeRevert, NO_REVERT_DATA_REASON, orderKey, packetFacts, packetFromCalldata, sameAddress } from "./model.js";

type Fact = [timestamp: bigint, chainId: number, blockNumber: bigint, logIndex: number];

const keyOf = (f: Fact) => orderKey(...f);
const byTuple = (a: Fact, b: Fact) =>
  a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? a[1] - b[1] : a[2] !== b[2] ? (a[2] < b[2] ? -1 : 1) : a[3] - b[3];

describe("orderKey", () => {
  it("is the same text for the same fact on every call", () => {
    expect(orderKey(1_700_000_000n, 31337, 42n, 3)).toBe(orderKey(1_700_000_000n, 31337, 42n, 3));
  });

  it("sorts as text exactly as (timestamp, chain id, block number, log index) sort as numbers", () => {
    // Mixed digit counts in every field: a naive (unpadded) key would put 9 after 10.
    const facts: Fact[] = [
      [10n, 1, 1n, 0],
      [9n, 2, 100n, 5],
      [9n, 10, 1n, 0],
      [9n, 2, 99n, 12],
      [9n, 2, 99n, 2],
      [1_700_000_000n, 1, 1n, 0],
      [999_999_999n, 8453, 30_000_000n, 999],
      [9n, 2, 100n, 10],
      [0n, 0, 0n, 0],
    ];
    const byKey = [...facts].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    expect(byKey).toEqual([...facts].sort(byTuple));
  });

  it("orders by block timestamp first, across chains: a later block on a small chain id comes after an earlier one on a large id", () => {
    expect(orderKey(101n, 1, 5n, 0) > orderKey(100n, 421614, 9_000_000n, 500)).toBe(true);
  });

  it("gives distinct facts distinct keys", () => {
    const keys = new Set([orderKey(1n, 1, 1n, 1), orderKey(1n, 1, 1n, 10), orderKey(1n, 1, 11n, 0), orderKey(1n, 11, 1n, 0), orderKey(11n, 1, 1n, 0)]);
    expect(keys.size).toBe(5);
  });

  it("is fixed width for realistic values, so SQL text comparison agrees with JS", () => {
    expect(orderKey(1n, 1, 1n, 1)).toHaveLength(orderKey(1_767_225_600n, 4_294_967_295, 123_456_789_012n, 999_999).length);
  });
});

describe("describeRevert", () => {
  it("answers an empty revert (out of gas, bare revert) with NO_REVERT_DATA_REASON", () => {
    expect(describeRevert("0x")).toBe(NO_REVERT_DATA_REASON);
  });

  it("answers data that is not hex with NO_REVERT_DATA_REASON", () => {
    expect(describeRevert("not hex" as Hex)).toBe(NO_REVERT_DATA_REASON);
  });

  it("unwraps Error(string) to its message", () => {
    const data = encodeErrorResult({
      abi: [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }],
      errorName: "Error",
      args: ["ERC721: mint to a taken id"],
    });
    expect(describeRevert(data)).toBe("ERC721: mint to a taken id");
  });

  it("names a Panic with its code", () => {
    const data = encodeErrorResult({ abi: [{ type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] }], errorName: "Panic", args: [0x11n] });
    expect(describeRevert(data)).toBe("Panic(17)");
  });

  it("names a custom error of the ONFT with its arguments", () => {
    expect(describeRevert(encodeErrorResult({ abi: CosmicONFT721Abi, errorName: "ERC721NonexistentToken", args: [7n] }))).toBe("ERC721NonexistentToken(7)");
    const peer = `0x${"ab".repeat(32)}` as Hex;
    expect(describeRevert(encodeErrorResult({ abi: CosmicONFT721Abi, errorName: "OnlyPeer", args: [40161, peer] }))).toBe(`OnlyPeer(40161, ${peer})`);
  });

  it("names a custom error without arguments with empty parentheses", () => {
    expect(describeRevert(encodeErrorResult({ abi: CosmicONFT721Abi, errorName: "OnlySelf" }))).toBe("OnlySelf()");
  });

  it("names a custom error of the endpoint", () => {
    expect(describeRevert(encodeErrorResult({ abi: EndpointV2Abi, errorName: "LZ_InvalidNonce", args: [5n] }))).toBe("LZ_InvalidNonce(5)");
  });

  it("shows printable UTF-8 revert data as text", () => {
    expect(describeRevert(stringToHex("paused"))).toBe("paused");
  });

  it("returns revert data it cannot read as the hex itself", () => {
    const unknown = "0xdeadbeef00000000000000000000000000000000000000000000000000000000000000ff" as Hex;
    expect(describeRevert(unknown)).toBe(unknown);
  });
});

describe("sameAddress", () => {
  it("ignores case and is never true for a missing side", () => {
    expect(sameAddress("0xAbC0000000000000000000000000000000000001", "0xabc0000000000000000000000000000000000001")).toBe(true);
    expect(sameAddress("0xabc0000000000000000000000000000000000001", "0xabc0000000000000000000000000000000000002")).toBe(false);
    expect(sameAddress(undefined, undefined)).toBe(false);
    expect(sameAddress(null, "0xabc0000000000000000000000000000000000001")).toBe(false);
  });
});

describe("classifyTransfer", () => {
  const alice = "0x00000000000000000000000000000000000a11ce" as Address;
  const bob = "0x0000000000000000000000000000000000000b0b" as Address;
  const adapter = "0x00000000000000000000000000000000ADA97E12" as Address;

  it("a mint adds a present token", () => {
    expect(classifyTransfer(zeroAddress, alice, undefined)).toEqual({ kind: "mint", state: "present", supplyDelta: 1 });
  });

  it("a burn removes it", () => {
    expect(classifyTransfer(alice, zeroAddress, undefined)).toEqual({ kind: "burn", state: "burned", supplyDelta: -1 });
  });

  it("a transfer between holders changes no supply", () => {
    expect(classifyTransfer(alice, bob, undefined)).toEqual({ kind: "transfer", state: "present", supplyDelta: 0 });
  });

  it("into the adapter is a lock: the token leaves this chain's supply", () => {
    expect(classifyTransfer(alice, adapter.toLowerCase() as Address, adapter)).toEqual({ kind: "lock", state: "locked", supplyDelta: -1 });
  });

  it("out of the adapter is an unlock: the token is back", () => {
    expect(classifyTransfer(adapter, bob, adapter)).toEqual({ kind: "unlock", state: "present", supplyDelta: 1 });
  });

  it("without an adapter, the same address is an ordinary holder", () => {
    expect(classifyTransfer(alice, adapter, undefined)).toEqual({ kind: "transfer", state: "present", supplyDelta: 0 });
  });
});

describe("packetFromCalldata / packetFacts", () => {
  const oapp = "0x1111111111111111111111111111111111111111" as Address;
  const remote = "0x2222222222222222222222222222222222222222" as Address;
  const recipient = "0x3333333333333333333333333333333333333333" as Address;
  const srcEid = 40161;
  const dstEid = 40231;
  const tokenId = 42n;
  const peer = padHex(remote, { size: 32 });
  const path = { peer, outboundNonce: 6n };

  const calldata = (overrides: { dstEid?: number; tokenId?: bigint; composeMsg?: Hex } = {}) =>
    encodeFunctionData({
      abi: CosmicONFT721Abi,
      functionName: "send",
      args: [
        {
          dstEid: overrides.dstEid ?? dstEid,
          to: padHex(recipient, { size: 32 }),
          tokenId: overrides.tokenId ?? tokenId,
          extraOptions: "0x",
          composeMsg: overrides.composeMsg ?? "0x",
          onftCmd: "0x",
        },
        { nativeFee: 1n, lzTokenFee: 0n },
        recipient,
      ],
    });
  // The guid the endpoint gives the 7th packet on this path, and the PacketSent it emits for it.
  const guid = computeGuid({ nonce: 7n, srcEid, sender: padHex(oapp, { size: 32 }), dstEid, receiver: peer });
  const message = concat([padHex(recipient, { size: 32 }), numberToHex(tokenId, { size: 32 })]);
  const encodedPayload = encodePacked(
    ["uint8", "uint64", "uint32", "bytes32", "uint32", "bytes32", "bytes32", "bytes"],
    [1, 7n, srcEid, padHex(oapp, { size: 32 }), dstEid, peer, guid, message],
  );
  const event = (input: Hex, to: Address | null = oapp, eventGuid: Hex = guid) => ({
    args: { guid: eventGuid, dstEid, tokenId },
    log: { address: oapp },
    transaction: { to, input },
  });

  it("reads the endpoint's PacketSent payload: guid, nonce, both ends and the ONFT recipient", () => {
    expect(packetFacts(encodedPayload)).toEqual({
      guid,
      nonce: 7n,
      sender: padHex(oapp, { size: 32 }),
      receiver: peer,
      message,
      recipient: getAddress(recipient),
    });
  });

  it("rebuilds from a direct send() exactly the packet the endpoint emitted", () => {
    expect(packetFromCalldata(event(calldata()), srcEid, path)).toEqual(packetFacts(encodedPayload));
  });

  it("accepts the emitting OApp's address in any case", () => {
    expect(packetFromCalldata(event(calldata(), oapp.toUpperCase().replace("0X", "0x") as Address), srcEid, path)).toBeDefined();
  });

  it("refuses when the path's nonce is not the one the guid was made with", () => {
    expect(packetFromCalldata(event(calldata()), srcEid, { peer, outboundNonce: 5n })).toBeUndefined();
  });

  it("refuses when the path is unknown or its nonce is not known", () => {
    expect(packetFromCalldata(event(calldata()), srcEid, null)).toBeUndefined();
    expect(packetFromCalldata(event(calldata()), srcEid, { peer, outboundNonce: null })).toBeUndefined();
  });

  it("refuses when the peer changed (the guid names another receiver)", () => {
    expect(packetFromCalldata(event(calldata()), srcEid, { peer: padHex(recipient, { size: 32 }), outboundNonce: 6n })).toBeUndefined();
  });

  it("refuses a send through another contract, or a transaction that is not send()", () => {
    expect(packetFromCalldata(event(calldata(), remote), srcEid, path)).toBeUndefined();
    expect(packetFromCalldata(event(calldata(), null), srcEid, path)).toBeUndefined();
    expect(packetFromCalldata(event("0x"), srcEid, path)).toBeUndefined();
    expect(packetFromCalldata(event("0xa9059cbb0000"), srcEid, path)).toBeUndefined();
  });

  it("refuses a compose message, or calldata for another destination or token than the event", () => {
    expect(packetFromCalldata(event(calldata({ composeMsg: "0x01" })), srcEid, path)).toBeUndefined();
    expect(packetFromCalldata(event(calldata({ dstEid: dstEid + 1 })), srcEid, path)).toBeUndefined();
    expect(packetFromCalldata(event(calldata({ tokenId: tokenId + 1n })), srcEid, path)).toBeUndefined();
  });

  it("refuses calldata that has the send() selector but does not decode", () => {
    expect(packetFromCalldata(event(calldata().slice(0, 80) as Hex), srcEid, path)).toBeUndefined();
  });
});
