/**
 * Guard of the route Ponder's own middleware serves in src/api/index.ts (/sql/*; /graphql and
 * /indexer/* are served by the REST app, under its limits): a per-IP rate limit in the same store as
 * the REST limits. The key-value connection is kept on globalThis so `ponder dev` hot reloads
 * reuse it instead of opening a new one each time.
 */
import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../../infra/config/index.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { createKeyValueStore, type KeyValueStore } from "../../infra/redis.js";
import { graphqlRateLimit } from "./ratelimit.js";

const HANDLE = Symbol.for("cosmic.ponderGuards.kv");

export function ponderRouteLimit(env: NodeJS.ProcessEnv = process.env): MiddlewareHandler {
  const config = loadConfig(env);
  const ops = loadOpsConfig(env);
  const holder = globalThis as unknown as Record<symbol, KeyValueStore | undefined>;
  const kv = (holder[HANDLE] ??= createKeyValueStore(config.redisUrl, config.redisPrefix));
  return graphqlRateLimit(kv, ops, config.trustProxy);
}
