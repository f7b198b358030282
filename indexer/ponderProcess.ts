/**
 * How we start a Ponder process: `node <PONDER_NODE_ARGS> <PONDER_BIN> …`. One place, so `npm run dev`,
 * the tests and the benches run Ponder the way `npm run ponder:start` and ops/env.sh do.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Ponder's CLI, run with our Node (no npx: one process to signal and measure). */
export const PONDER_BIN = path.join(ROOT, "node_modules/ponder/dist/esm/bin/ponder.js");

/**
 * indexer/ponderPreload.mjs: Ponder's 1 ms event-loop lag timer at 10 ms (idle CPU), and the default
 * indexing-cache cap (PONDER_CACHE_BYTES).
 */
export const PONDER_PRELOAD = path.join(ROOT, "indexer/ponderPreload.mjs");

/**
 * V8 heap limit of a Ponder process by default, MB (`PONDER_HEAP_MB` in ops/env.sh and
 * `npm run ponder:start`; the same number is written there). Without one, Node lets the heap grow
 * towards its own limit (4 GB on a 24 GB machine) before collecting: 1M tokens peaked at 2.8 GB RSS,
 * 1.3 GB of it garbage. With it and the cache cap of the preload the peak is 1.55 GB at the same
 * backfill speed (BENCHMARKS.md). It must hold the cache (at most 832 MB by Ponder's estimate) plus
 * the sync's block ranges.
 */
export const PONDER_HEAP_MB_DEFAULT = 1536;

/** Node flags before PONDER_BIN; `extra` goes last, so a caller's `--max-old-space-size` wins. */
export function ponderNodeArgs(extra: readonly string[] = []): string[] {
  return ["--import", PONDER_PRELOAD, `--max-old-space-size=${PONDER_HEAP_MB_DEFAULT}`, ...extra];
}
