/**
 * Section indexer: which network Ponder indexes and where its chains are (docs/indexer.md). The
 * files it names (deployments, collections) are read by indexer/setup.ts; per-chain URLs are
 * `RPC_URL_<CHAIN>` / `WS_URL_<CHAIN>` (chain name upper-cased, `-` → `_`), read through `rpcUrls`
 * and `wsUrl` below.
 */
import { z } from "zod";
import { bool, int, parseSection, text } from "./parse.js";

/** Where the devnet writes its deployments (and the indexer and API read them) unless DEVNET_DEPLOYMENTS says otherwise. */
export const DEFAULT_DEPLOYMENTS_FILE = ".devnet/deployments.json";

/** A positive number of milliseconds; undefined when unset (each mode has its own default). */
const positiveMs = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      const n = Number(v);
      if (n > 0) return n;
      ctx.addIssue({ code: "custom", message: `must be a positive number of ms (got ${v})` });
      return z.NEVER;
    });

export const indexerEnv = z.object({
  PONDER_NETWORK: z.enum(["devnet", "mainnet", "testnet"], { message: "must be devnet, mainnet or testnet" }).default("devnet"),
  /** The devnet's deployments file (written by `npm run devnet` / `npm run dev`); default DEFAULT_DEPLOYMENTS_FILE. */
  DEVNET_DEPLOYMENTS: text(),
  /** mainnet/testnet: the collections JSON file. */
  INDEXER_COLLECTIONS: text(),
  /** ms between polls of a chain's head; default 100 on the devnet, 1000 on networks (with a WebSocket only the fallback). */
  PONDER_POLLING_INTERVAL: positiveMs(),
  /** 0: never subscribe to new heads (poll), devnet included. */
  PONDER_WS: bool(true),
  /** Ponder's PGlite folder without DATABASE_URL; default `.ponder/<setup id>/pglite`. */
  PONDER_PGLITE_DIR: text(),
  PONDER_PG_POOL_MAX: int(10, 1, 1000),
  /** Scripts (reconcile) talking to a running Ponder; default http://127.0.0.1:$PORT (42069). */
  PONDER_URL: text(),
});

export type IndexerEnv = {
  network: "devnet" | "mainnet" | "testnet";
  deploymentsFile: string;
  collectionsFile: string | undefined;
  /** PONDER_POLLING_INTERVAL when set (each mode has its default). */
  pollingInterval: number | undefined;
  ws: boolean;
  pgliteDir: string | undefined;
  pgPoolMax: number;
  ponderUrl: string | undefined;
  /** RPC_URL_<CHAIN>: every URL given for `chain` (comma-separated: Ponder fails over between them). */
  rpcUrls(chain: string): string[];
  /** WS_URL_<CHAIN> for `chain`, undefined when unset or when PONDER_WS=0. */
  wsUrl(chain: string): string | undefined;
};

/** Name of the variable holding a chain's RPC URLs (`base-sepolia` → `RPC_URL_BASE_SEPOLIA`). */
export const rpcEnvName = (chain: string) => `RPC_URL_${chain.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
export const wsEnvName = (chain: string) => `WS_URL_${chain.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

export function readIndexerEnv(env: NodeJS.ProcessEnv): IndexerEnv {
  const e = parseSection(indexerEnv, env);
  return {
    network: e.PONDER_NETWORK,
    deploymentsFile: e.DEVNET_DEPLOYMENTS ?? DEFAULT_DEPLOYMENTS_FILE,
    collectionsFile: e.INDEXER_COLLECTIONS,
    pollingInterval: e.PONDER_POLLING_INTERVAL,
    ws: e.PONDER_WS,
    pgliteDir: e.PONDER_PGLITE_DIR,
    pgPoolMax: e.PONDER_PG_POOL_MAX,
    ponderUrl: e.PONDER_URL,
    rpcUrls: (chain) =>
      (env[rpcEnvName(chain)] ?? "")
        .split(",")
        .map((u) => u.trim())
        .filter(Boolean),
    wsUrl: (chain) => (e.PONDER_WS ? env[wsEnvName(chain)]?.trim() || undefined : undefined),
  };
}
