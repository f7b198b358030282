import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Integration suites in test/; unit tests beside the pure modules they test (never under src/: Ponder loads every file there).
    include: ["test/**/*.test.ts", "{api,app,chain,domain,indexer,infra,jobs,read,realtime,webhooks}/**/*.test.ts"],
    reporters: ["default", "./test/summaryReporter.ts"],
    // Integration tests start anvil chains, Ponder and servers: give them time (a loaded 2-core CI
    // machine runs a SIGKILL-and-restart of Ponder in ~2-3 min), run files in forks.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    // One file at a time: the outage, chaos and bridge files measure timing windows (outage seconds,
    // stuck-bridge thresholds) that two anvil+Ponder files side by side on 2 cores blew through
    // (a CI run with 2 workers: 5 timing failures; the same files pass alone). ~17 min serial.
    maxWorkers: 1,
    minWorkers: 1,
  },
});
