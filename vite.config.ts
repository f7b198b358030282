/**
 * Read by Ponder's build only (vitest reads vitest.config.ts): Ponder loads ponder.config.ts, the
 * schema and the handlers through a Vite dev server, and Vite's file watcher watches the whole
 * repository by default — PGlite's data files under .ponder/ included, which change on every
 * commit. Under `ponder start`/`serve` nothing reloads, so the watcher is off (it cost the idle dev
 * stack a few % of a core: bench/push.ts); `ponder dev` keeps it for hot reload, minus data dirs.
 */
import { defineConfig } from "vite";

const hotReload = process.argv.includes("dev");

export default defineConfig({
  server: {
    watch: hotReload ? { ignored: ["**/.ponder/**", "**/.devnet/**", "**/.scratch/**", "**/generated/**"] } : null,
  },
});
