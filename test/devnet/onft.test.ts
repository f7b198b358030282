/** Pure helpers of chain/onft.ts: token-id ranges, SendParam, the unsigned send transaction. */
import { decodeFunctionData } from "viem";
import { describe, expect, it } from "vitest";
import { CosmicONFT721AdapterAbi } from "../../abis/CosmicONFT721AdapterAbi.js";
import { buildSendParam, buildSendTransaction, tokenIdInRange, tokenIdOrigin } from "../../chain/onft.js";

const alice = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

describe("chain/onft helpers", () => {
  it("puts the EID in the high bits of a token id and reads it back", () => {
    expect(tokenIdInRange(50001, 7n)).toBe((50001n << 64n) | 7n);
    expect(tokenIdOrigin(tokenIdInRange(50002, 2n ** 64n - 1n))).toBe(50002);
    expect(() => tokenIdInRange(50001, 2n ** 64n)).toThrow(RangeError);
    expect(() => tokenIdInRange(50001, -1n)).toThrow(RangeError);
  });

  it("builds a plain SendParam (recipient as bytes32, no options) and the wallet's send transaction", () => {
    const param = buildSendParam({ dstEid: 50002, to: alice, tokenId: 5n });
    expect(param).toEqual({
      dstEid: 50002,
      to: "0x00000000000000000000000070997970C51812dc3A010C7d01b50e0d17dc79C8",
      tokenId: 5n,
      extraOptions: "0x",
      composeMsg: "0x",
      onftCmd: "0x",
    });
    const tx = buildSendTransaction({
      deployment: { address: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
      tokenId: 5n,
      dstEid: 50002,
      to: alice,
      fee: { nativeFee: 100n, lzTokenFee: 0n },
      refundAddress: alice,
    });
    expect(tx.value).toBe(100n);
    const call = decodeFunctionData({ abi: CosmicONFT721AdapterAbi, data: tx.data });
    expect(call.functionName).toBe("send");
    expect(call.args?.[1]).toEqual({ nativeFee: 100n, lzTokenFee: 0n });
  });
});
