/**
 * `npm run reconcile [-- --url http://127.0.0.1:42069]`: compares the running indexer's tables with
 * ownerOf on every chain; prints mismatches and exits 1 if there are any (2 on a setup/connection error).
 * Chains and collections come from the same settings as ponder.config.ts (DEVNET_DEPLOYMENTS, or
 * PONDER_NETWORK + INDEXER_COLLECTIONS + RPC_URL_<CHAIN>).
 */
import { parseArgs } from "node:util";
import { reconcile } from "../indexer/reconcile.js";
import { loadIndexerSetup } from "../indexer/setup.js";
import { readServerEnv } from "../infra/config/index.js";
import { readIndexerEnv } from "../infra/config/indexer.js";

const { values } = parseArgs({ options: { url: { type: "string" } } });
const url = values.url ?? readIndexerEnv(process.env).ponderUrl ?? `http://127.0.0.1:${readServerEnv(process.env).PORT ?? 42069}`;
try {
  const result = await reconcile(loadIndexerSetup(), url);
  for (const m of result.mismatches) console.log(`MISMATCH ${m}`);
  console.log(`reconcile: ${result.checkedTokens} token rows on ${result.checkedChains} chains, ${result.mismatches.length} mismatches`);
  process.exit(result.mismatches.length ? 1 : 0);
} catch (error) {
  console.error(`reconcile: ${(error as Error).message}`);
  process.exit(2);
}
