/**
 * Rate limits with rate-limiter-flexible: Redis (shared by replicas) or in-process without REDIS_URL.
 *
 * Two behaviours when Redis is unavailable:
 *   - `failOpen` limiters (the global per-IP / per-wallet limits that guard reads) fall back to an
 *     in-process limiter with the same budget (its insurance limiter): reads keep answering;
 *   - the others (auth routes) answer 503: auth and writes fail closed.
 * Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and
 * `RateLimit-Policy`; a 429 adds `Retry-After`.
 *
 * Redis cost: consumptions of one key that arrive in the same turn of the event loop go to Redis
 * as one `consume(key, n)` (one round trip instead of n), and the answer is split back in arrival
 * order exactly as n sequential `consume(key, 1)` would have seen it (the i-th sees the count
 * before the batch + i + 1): the same requests are admitted, with the same RateLimit-Remaining, so
 * the limit stays exact across replicas. A key over its limit is then blocked in this process's
 * memory until its window ends (rate-limiter-flexible's inMemoryBlockOnConsumed): a client that is
 * already refused costs no Redis call at all (other replicas learn it from Redis as before).
 */
import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { kvReady } from "../../infra/cache.js";
import { rateLimited } from "../../infra/metrics.js";
import type { OpsConfig } from "../../infra/config/ops.js";
import type { KeyValueStore, RedisKeyValueStore } from "../../infra/redis.js";
import type { AppEnv } from "./context.js";
import { clientAddress, type TrustProxy } from "../../infra/clientIp.js";
import { ServiceError, dependencyDown, errorHeaders, httpStatusOf } from "./errors.js";

/** A spent rate limit, with the counters' response headers (RateLimit-*, Retry-After). */
export class RateLimitedError extends ServiceError {
  override name = "RateLimitedError";
  constructor(readonly headers: Record<string, string>) {
    super("rate_limited", "RATE_LIMITED", "too many requests, retry later");
  }
}
import { addResponseHeaders, requestHeader } from "./headers.js";

export type LimitSpec = { name: string; points: number; windowSeconds: number; failOpen: boolean };
type Waiter = { resolve(res: RateLimiterRes): void; reject(error: unknown): void };
type Pair = { store?: RateLimiterRedis; memory: RateLimiterMemory; points: number; pending: Map<string, Waiter[]>; flushing: boolean };
export type LimitResult = { limit: number; remaining: number; resetSeconds: number; windowSeconds: number };

const limiters = new WeakMap<KeyValueStore, Map<string, Pair>>();

function limiterFor(kv: KeyValueStore, spec: LimitSpec): Pair {
  let byName = limiters.get(kv);
  if (!byName) limiters.set(kv, (byName = new Map()));
  const id = `${spec.name}:${spec.points}:${spec.windowSeconds}:${spec.failOpen}`;
  let pair = byName.get(id);
  if (!pair) {
    const memory = new RateLimiterMemory({ keyPrefix: `rl:${spec.name}`, points: spec.points, duration: spec.windowSeconds });
    const redis = kv.kind === "redis" ? (kv as RedisKeyValueStore) : undefined;
    const store = redis
      ? new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: `${redis.prefix}rl:${spec.name}`,
          points: spec.points,
          duration: spec.windowSeconds,
          // Refused once: refused locally (no Redis call) until the window ends.
          inMemoryBlockOnConsumed: spec.points + 1,
          // Redis errors fall back to the in-process budget (kvReady() skips Redis at once while it reconnects).
          ...(spec.failOpen ? { insuranceLimiter: memory } : {}),
        })
      : undefined;
    byName.set(id, (pair = { store, memory, points: spec.points, pending: new Map(), flushing: false }));
  }
  return pair;
}

/** `store.consume(key, 1)`, batched with the other consumptions of this turn of the event loop. */
function consumeBatched(pair: Pair, store: RateLimiterRedis, key: string): Promise<RateLimiterRes> {
  return new Promise((resolve, reject) => {
    const waiters = pair.pending.get(key);
    if (waiters) waiters.push({ resolve, reject });
    else pair.pending.set(key, [{ resolve, reject }]);
    if (!pair.flushing) {
      pair.flushing = true;
      // After the poll phase: every request whose bytes arrived in this turn has reached here.
      setImmediate(() => flush(pair, store));
    }
  });
}

function flush(pair: Pair, store: RateLimiterRedis) {
  const batch = pair.pending;
  pair.pending = new Map();
  pair.flushing = false;
  for (const [key, waiters] of batch) {
    const n = waiters.length;
    const split = (res: RateLimiterRes, refused: boolean) => {
      // A refusal whose count is not above the limit is a local block (count unknown): refuse all.
      const before = refused && res.consumedPoints <= pair.points ? Number.POSITIVE_INFINITY : res.consumedPoints - n;
      waiters.forEach((w, i) => {
        const consumed = before + i + 1;
        const mine = new RateLimiterRes(
          Math.max(0, pair.points - consumed),
          res.msBeforeNext,
          Number.isFinite(consumed) ? consumed : res.consumedPoints,
          res.isFirstInDuration && i === 0,
        );
        if (consumed <= pair.points) w.resolve(mine);
        else w.reject(mine);
      });
    };
    store.consume(key, n).then(
      (res) => split(res, false),
      (error: unknown) => (error instanceof RateLimiterRes ? split(error, true) : waiters.forEach((w) => w.reject(error))),
    );
  }
}

const toResult = (spec: LimitSpec, res: RateLimiterRes): LimitResult => ({
  limit: spec.points,
  remaining: Math.max(0, res.remainingPoints),
  resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  windowSeconds: spec.windowSeconds,
});

export function rateLimitHeaders(r: LimitResult): Record<string, string> {
  return {
    "RateLimit-Limit": String(r.limit),
    "RateLimit-Remaining": String(r.remaining),
    "RateLimit-Reset": String(r.resetSeconds),
    "RateLimit-Policy": `${r.limit};w=${r.windowSeconds}`,
  };
}

/** Consumes one point of `key`; throws 429 (over the limit) or 503 (store down, fail-closed limiter). */
export async function consumeRateLimit(kv: KeyValueStore, spec: LimitSpec, key: string): Promise<LimitResult> {
  const pair = limiterFor(kv, spec);
  const { store, memory } = pair;
  let useStore = store !== undefined;
  if (store && !kvReady(kv)) {
    if (!spec.failOpen) throw dependencyDown("DEPENDENCY_UNAVAILABLE", "rate limit store unavailable, retry later");
    useStore = false;
  }
  try {
    return toResult(spec, await (store && useStore ? consumeBatched(pair, store, key) : memory.consume(key, 1)));
  } catch (error) {
    if (error instanceof RateLimiterRes) {
      const result = toResult(spec, error);
      rateLimited.inc({ scope: spec.name });
      throw new RateLimitedError({ ...rateLimitHeaders(result), "Retry-After": String(result.resetSeconds) });
    }
    if (spec.failOpen) return toResult(spec, await memory.consume(key, 1).catch((e: unknown) => Promise.reject(e instanceof RateLimiterRes ? e : error)));
    throw dependencyDown("DEPENDENCY_UNAVAILABLE", "rate limit store unavailable, retry later", error);
  }
}

/** Client IP past the trusted proxies (infra/clientIp.ts), else the socket address. */
export function requestIp(c: Context, trustProxy: TrustProxy): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return clientAddress(trustProxy, env?.incoming?.socket?.remoteAddress, requestHeader(c, "x-forwarded-for"));
}

/** Paths a load balancer or Prometheus polls: never limited. */
const EXEMPT = new Set(["/api/health", "/api/ready", "/api/metrics"]);

/**
 * Global limits on every route: per client IP, and per wallet (a Bearer token whose signature
 * verifies, or an API key) — whichever is exhausted first answers 429.
 */
export function globalRateLimit(limits: OpsConfig["rateLimit"]): MiddlewareHandler<AppEnv> {
  const ipSpec: LimitSpec = { name: "ip", points: limits.perIp, windowSeconds: limits.windowSeconds, failOpen: true };
  const walletSpec: LimitSpec = { name: "wallet", points: limits.perWallet, windowSeconds: limits.windowSeconds, failOpen: true };
  return async (c, next) => {
    if (EXEMPT.has(c.req.path)) return await next();
    const deps = c.get("deps");
    const results: LimitResult[] = [];
    const wallet = await walletKey(c);
    // A 429 carries its headers through the error handler.
    results.push(await consumeRateLimit(deps.kv, ipSpec, requestIp(c, deps.config.trustProxy)));
    if (wallet) results.push(await consumeRateLimit(deps.kv, walletSpec, wallet));
    const tightest = results.reduce((a, b) => (b.remaining < a.remaining ? b : a));
    await next();
    addResponseHeaders(c, rateLimitHeaders(tightest));
  };
}

/** The wallet of a verifiable access token (no revocation lookup: that is requireAuth's job), or an API key hash. */
async function walletKey(c: Context<AppEnv>): Promise<string | undefined> {
  const authorization = requestHeader(c, "authorization");
  const match = authorization ? /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(authorization.trim()) : null;
  if (match) {
    try {
      return `addr:${(await c.get("deps").auth.keys.verify(match[1]!)).sub.toLowerCase()}`;
    } catch {
      return undefined; // the route answers 401
    }
  }
  const apiKey = requestHeader(c, "x-api-key");
  if (apiKey) return `key:${createHash("sha256").update(apiKey.trim()).digest("hex").slice(0, 32)}`;
  return undefined;
}

/**
 * Per-IP limit of /graphql (in the REST app) and of Ponder's /sql/* (src/api/index.ts); plain Hono
 * middleware. GraphQL adds its depth, alias, token and cost limits (api/graphql/limits.ts).
 */
export function graphqlRateLimit(kv: KeyValueStore, ops: OpsConfig, trustProxy: TrustProxy = false): MiddlewareHandler {
  const spec: LimitSpec = { name: "graphql", points: ops.rateLimit.graphqlPerIp, windowSeconds: ops.rateLimit.windowSeconds, failOpen: true };
  return async (c, next) => {
    try {
      const result = await consumeRateLimit(kv, spec, requestIp(c, trustProxy));
      await next();
      for (const [k, v] of Object.entries(rateLimitHeaders(result))) c.res.headers.set(k, v);
    } catch (error) {
      if (error instanceof ServiceError) return c.json({ error: { code: error.code, message: error.message } }, httpStatusOf(error), errorHeaders(error));
      throw error;
    }
  };
}
