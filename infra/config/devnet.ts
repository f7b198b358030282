/** Section devnet: the local anvil chains of `npm run dev` and `npm run devnet` (docs/devnet.md). */
import { z } from "zod";
import { int, parseSection, text } from "./parse.js";

export const devnetEnv = z.object({
  DEVNET_CHAINS: int(3, 1, 16),
  /** First anvil port; chain i listens on DEVNET_PORT + i. */
  DEVNET_PORT: int(8545, 1, 65535),
  /** Fork every chain from this RPC (anvil --fork-url). */
  DEVNET_FORK_URL: text(),
  /** Milliseconds the local DVNs wait before verifying (to watch a bridge in flight). */
  DEVNET_DVN_DELAY_MS: int(0, 0, 600_000),
});

export type DevnetEnv = { chains: number; basePort: number; forkUrl: string | undefined; dvnDelayMs: number };

export function readDevnetEnv(env: NodeJS.ProcessEnv): DevnetEnv {
  const e = parseSection(devnetEnv, env);
  return { chains: e.DEVNET_CHAINS, basePort: e.DEVNET_PORT, forkUrl: e.DEVNET_FORK_URL?.trim() || undefined, dvnDelayMs: e.DEVNET_DVN_DELAY_MS };
}
