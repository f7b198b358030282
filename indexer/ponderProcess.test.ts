import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PONDER_HEAP_MB_DEFAULT, PONDER_PRELOAD, ponderNodeArgs } from "./ponderProcess.js";

const ROOT = path.resolve(import.meta.dirname, "..");

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
    expect(ponderNodeArgs(["--inspect"])).toEqual(["--import", PONDER_PRELOAD, `--max-old-space-size=${PONDER_HEAP_MB_DEFAULT}`, "--inspect"]);
  });

  it("defaults Ponder's indexing-cache cap to 832 MB, an operator's value wins", () => {
    const cacheBytes = (env: NodeJS.ProcessEnv) =>
      execFileSync(process.execPath, [...ponderNodeArgs(), "-e", "console.log(process.env.PONDER_CACHE_BYTES)"], { encoding: "utf8", env }).trim();
    const { PONDER_CACHE_BYTES: _, ...env } = process.env;
    expect(cacheBytes(env)).toBe(String(832 * 1024 * 1024));
    expect(cacheBytes({ ...env, PONDER_CACHE_BYTES: "67108864" })).toBe("67108864");
  });
});

describe("the Ponder heap limit", () => {
  const heapLimitMb = (nodeArgs: string[]) =>
    Number(
      execFileSync(process.execPath, [...nodeArgs, "-e", "console.log(require('v8').getHeapStatistics().heap_size_limit / 2 ** 20)"], { encoding: "utf8" }),
    );

  it("is set on every launch (V8's limit: old space plus the young generation), a caller's flag wins", () => {
    const capped = heapLimitMb(ponderNodeArgs());
    expect(capped).toBeGreaterThanOrEqual(PONDER_HEAP_MB_DEFAULT);
    expect(capped).toBeLessThan(PONDER_HEAP_MB_DEFAULT + 128);
    const callers = heapLimitMb(ponderNodeArgs(["--max-old-space-size=512"]));
    expect(callers).toBeGreaterThanOrEqual(512);
    expect(callers).toBeLessThan(512 + 128);
  });

  it("has the same default in npm run ponder:start / ponder:serve and ops/env.sh", () => {
    const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    const flag = `--max-old-space-size=\${PONDER_HEAP_MB:-${PONDER_HEAP_MB_DEFAULT}}`;
    expect(scripts["ponder:start"]).toContain(flag);
    expect(scripts["ponder:serve"]).toContain(flag);
    expect(readFileSync(path.join(ROOT, "ops/env.sh"), "utf8")).toContain(flag);
  });
});
