import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/summaryReporter.ts"],
    // Integration tests start anvil chains, Ponder and servers: give them time (a loaded 2-core CI
    // machine runs a SIGKILL-and-restart of Ponder in ~2-3 min), run files in forks.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    // 2-core machines: two files at a time keeps anvil/Ponder-heavy suites from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
