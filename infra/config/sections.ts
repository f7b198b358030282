/**
 * Every variable of the project, by section: the registry ops/check-env.ts validates and
 * `.env.example` is tested against (infra/config/config.test.ts). A new variable is added to its
 * section's schema; nothing else declares one.
 */
import type { z } from "zod";
import { bridgeEnv, loadBridgeSettings } from "./bridge.js";
import { devnetEnv, readDevnetEnv } from "./devnet.js";
import { authEnv, eventsEnv, jobsEnv, loadConfig, serverEnv, webhooksEnv } from "./index.js";
import { indexerEnv, readIndexerEnv } from "./indexer.js";
import { loadNftSettings, metadataEnv } from "./nfts.js";
import { limitsEnv, loadOpsConfig, realtimeEnv } from "./ops.js";

export const CONFIG_SECTIONS: Record<string, z.ZodObject> = {
  server: serverEnv,
  auth: authEnv,
  bridge: bridgeEnv,
  metadata: metadataEnv,
  events: eventsEnv,
  jobs: jobsEnv,
  webhooks: webhooksEnv,
  realtime: realtimeEnv,
  limits: limitsEnv,
  indexer: indexerEnv,
  devnet: devnetEnv,
};

/** Families of variables named after a chain: PONDER_RPC_URL_<chainId> (server), RPC_URL_<CHAIN> and WS_URL_<CHAIN> (indexer). */
export const CONFIG_PATTERNS: RegExp[] = [/^PONDER_RPC_URL_\d+$/, /^RPC_URL_[A-Z0-9_]+$/, /^WS_URL_[A-Z0-9_]+$/];

/** Variables read by others, documented in `.env.example` for operators: Ponder itself, and the ops/ shell scripts. */
export const EXTERNAL_VARIABLES = ["PONDER_TELEMETRY_DISABLED", "PONDER_HEAP_MB", "PONDER_CACHE_BYTES"];

/** Every problem of this environment, one line each (`section: NAME: message`); empty when it is valid. */
export function configProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const check = (what: string, fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      for (const line of String((error as Error).message).split("\n")) problems.push(`${what}: ${line}`);
    }
  };
  check("api", () => loadConfig(env));
  check("ops", () => loadOpsConfig(env));
  check("nft", () => loadNftSettings(env, ".data"));
  check("bridge", () => loadBridgeSettings(env));
  check("indexer", () => readIndexerEnv(env));
  check("devnet", () => readDevnetEnv(env));
  const server = serverEnv.safeParse(env);
  if (server.success && server.data.NODE_ENV === "production") {
    if (!server.data.DATABASE_URL) problems.push("api: DATABASE_URL is required in production");
    if (!server.data.REDIS_URL) problems.push("api: REDIS_URL is required in production (rate limits, nonces, pub/sub are per process without it)");
  }
  return problems;
}
