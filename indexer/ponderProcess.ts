/**
 * How we start a Ponder process: `node <PONDER_NODE_ARGS> <PONDER_BIN> …`. One place, so `npm run dev`,
 * the tests and the benches run Ponder the way `npm run ponder:start` and ops/env.sh do.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Ponder's CLI, run with our Node (no npx: one process to signal and measure). */
export const PONDER_BIN = path.join(ROOT, "node_modules/ponder/dist/esm/bin/ponder.js");

/** indexer/ponderPreload.mjs: Ponder's 1 ms event-loop lag timer at 10 ms (idle CPU). */
export const PONDER_PRELOAD = path.join(ROOT, "indexer/ponderPreload.mjs");

/** Node flags before PONDER_BIN; `extra` (e.g. a heap cap) goes after the preload. */
export function ponderNodeArgs(extra: readonly string[] = []): string[] {
  return ["--import", PONDER_PRELOAD, ...extra];
}
