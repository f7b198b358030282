// Loaded with `node --import` into every Ponder process we start (`npm run dev`, `npm run ponder:start`,
// `ponder:serve`, ops/env.sh, the tests and benches: indexer/ponderProcess.ts), before Ponder itself.
//
// Why: Ponder's metrics call prom-client's collectDefaultMetrics with `eventLoopMonitoringPrecision: 1`,
// so perf_hooks.monitorEventLoopDelay arms a native 1 ms timer that wakes the event loop ~1,000 times a
// second even when nothing happens: ~2.5 % of a core at rest (BENCHMARKS.md, issue 18). No Ponder
// option changes it, so this wraps the one Node function: the lag histogram samples no finer than
// prom-client's own default, 10 ms. The nodejs_eventloop_lag_* metrics stay, at 10 ms resolution.
//
// Also the default of Ponder's indexing-cache cap, PONDER_CACHE_BYTES (Ponder reads it when it starts;
// an operator's value wins). Ponder's own default is a fifth of the V8 heap limit, so the heap limit
// every launch sets (indexer/ponderProcess.ts) would shrink it to 320 MB, and a cache that cannot
// hold the token table makes the backfill read rows one query at a time: 1M tokens took 2.7× as long
// at 64 MB. 832 MB is what Ponder derives from Node's own limit on a 24 GB machine (BENCHMARKS.md).
// Plain JavaScript (not TypeScript): Node loads it before any loader exists.
import { syncBuiltinESMExports } from "node:module";
import perfHooks from "node:perf_hooks";

export const MIN_LAG_RESOLUTION_MS = 10;
export const DEFAULT_CACHE_BYTES = 832 * 1024 * 1024;

process.env.PONDER_CACHE_BYTES ??= String(DEFAULT_CACHE_BYTES);

const monitorEventLoopDelay = perfHooks.monitorEventLoopDelay;
perfHooks.monitorEventLoopDelay = (options = {}) =>
  monitorEventLoopDelay({ ...options, resolution: Math.max(options.resolution ?? MIN_LAG_RESOLUTION_MS, MIN_LAG_RESOLUTION_MS) });
// Named ESM imports of node:perf_hooks see the wrapper too, not only require("perf_hooks") (prom-client).
syncBuiltinESMExports();
