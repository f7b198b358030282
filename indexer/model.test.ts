import { encodeErrorResult, type Hex, stringToHex } from "viem";
import { describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { describeRevert, NO_REVERT_DATA_REASON, orderKey } from "./model.js";

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
