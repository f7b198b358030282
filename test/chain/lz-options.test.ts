import { describe, expect, it } from "vitest";
import { InvalidOptionsError, combineOptions, lzReceiveBudget, lzReceiveOptions, optionEntries, splitOptions } from "../../chain/layerzero/options.js";

describe("LayerZero type-3 options", () => {
  it("encodes lzReceive gas as LayerZero's Options.addExecutorLzReceiveOption does", () => {
    // 200k gas: 0x0003 | 01 | 0011 | 01 | 00000000000000000000000000030d40
    expect(lzReceiveOptions(200_000n)).toBe("0x00030100110100000000000000000000000000030d40");
    expect(lzReceiveOptions(1n, 5n)).toBe(`0x0003${"01"}${"0021"}${"01"}${"0".repeat(31)}1${"0".repeat(31)}5`);
    expect(() => lzReceiveOptions(0n)).toThrow(InvalidOptionsError);
  });

  it("combines enforced and extra options like OAppOptionsType3", () => {
    const enforced = lzReceiveOptions(100n);
    expect(combineOptions(enforced, "0x")).toBe(enforced);
    expect(combineOptions("0x", "0x")).toBe("0x");
    expect(combineOptions(enforced, lzReceiveOptions(7n))).toBe(`${enforced}${lzReceiveOptions(7n).slice(6)}`);
    expect(lzReceiveBudget(combineOptions(enforced, lzReceiveOptions(7n)))).toEqual({ gas: 107n, value: 0n });
    expect(() => combineOptions(enforced, "0x0001")).toThrow(InvalidOptionsError);
  });

  it("splits executor and DVN entries as SendUln302 does, and refuses what UlnOptions refuses", () => {
    const dvnEntry = "0x0200020001" as const; // DVN worker 2, size 2: DVN index 0, option type 1 (PreCrime)
    const options = `${lzReceiveOptions(50n)}${dvnEntry.slice(2)}` as const;
    expect(splitOptions(options)).toEqual({ executor: `0x${lzReceiveOptions(50n).slice(6)}`, dvn: dvnEntry });
    expect(() => optionEntries("0x")).toThrow(/InvalidWorkerOptions\(0\)/);
    expect(() => optionEntries("0x0003000001")).toThrow(/worker id 0/);
    expect(() => optionEntries("0x000301001101")).toThrow(/size/);
    expect(() => splitOptions("0x0003070001ff")).toThrow(/unknown worker/);
    expect(() => lzReceiveBudget("0x000301000201ff")).toThrow(/16 or 32/);
  });
});
