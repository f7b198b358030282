import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PONDER_PRELOAD, ponderNodeArgs } from "./ponderProcess.js";

/**
 * Samples a 1 ms event-loop lag histogram (what Ponder's metrics ask prom-client for) for 300 ms, through
 * both require("perf_hooks") (prom-client's way) and a named ESM import; prints both sample counts.
 */
const PROBE = `
const { monitorEventLoopDelay } = await import("node:perf_hooks");
const { createRequire } = await import("node:module");
const viaImport = monitorEventLoopDelay({ resolution: 1 });
const viaRequire = createRequire(import.meta.url)("perf_hooks").monitorEventLoopDelay({ resolution: 1 });
viaImport.enable(); viaRequire.enable();
setTimeout(() => console.log(JSON.stringify([viaImport.count, viaRequire.count])), 300);
`;

function sampleCounts(nodeArgs: string[]): number[] {
  return JSON.parse(execFileSync(process.execPath, [...nodeArgs, "--input-type=module", "-e", PROBE], { encoding: "utf8" }));
}

describe("the Ponder preload (indexer/ponderPreload.mjs)", () => {
  it("makes a 1 ms lag monitor sample at 10 ms: ~30 wake-ups in 300 ms instead of ~300", () => {
    const plain = sampleCounts([]);
    const preloaded = sampleCounts(ponderNodeArgs());
    // Without it, Node wakes every millisecond (the idle cost this removes); with it, at most every 10 ms.
    for (const count of plain) expect(count).toBeGreaterThan(150);
    for (const count of preloaded) {
      expect(count).toBeGreaterThan(5);
      expect(count).toBeLessThanOrEqual(32);
    }
  });

  it("is the first flag of every Ponder launch, before caller flags", () => {
    expect(ponderNodeArgs(["--max-old-space-size=512"])).toEqual(["--import", PONDER_PRELOAD, "--max-old-space-size=512"]);
  });
});
