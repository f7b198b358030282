/**
 * `npx tsx ops/check-env.ts`: validates the whole configuration of the current environment (API,
 * NFT settings, realtime/ops, indexer network) and prints every problem, one per line, exit 1.
 */
import { loadNftSettings } from "../domain/nfts/settings.js";
import { loadIndexerSetup } from "../indexer/setup.js";
import { loadConfig } from "../infra/config.js";
import { loadOpsConfig } from "../infra/opsConfig.js";

const problems: string[] = [];
const check = (what: string, fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    for (const line of String((error as Error).message).split("\n")) problems.push(`${what}: ${line}`);
  }
};
check("api", () => loadConfig(process.env));
check("ops", () => loadOpsConfig(process.env));
check("nft", () => loadNftSettings(process.env, process.env.DATA_DIR || ".data"));
check("indexer", () => loadIndexerSetup(process.env));
if (process.env.NODE_ENV === "production") {
  if (!process.env.DATABASE_URL) problems.push("api: DATABASE_URL is required in production");
  if (!process.env.REDIS_URL) problems.push("api: REDIS_URL is required in production (rate limits, nonces, pub/sub are per process without it)");
}
if (problems.length) {
  console.error(`configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("configuration OK");
