import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start anvil chains, Ponder and servers: give them time, run files in forks.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    // 2-core machines: two files at a time keeps anvil/Ponder-heavy suites from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
