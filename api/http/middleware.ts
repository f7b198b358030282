/**
 * Middleware shared by every service: request ids, request logs, client IP, rate limits, and the
 * authentication guards `requireAuth` / `requireRole(...)`.
 */
import { randomUUID } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../../infra/logger.js";
import type { AppEnv, Principal, RequestDeps, Role } from "./context.js";
import { forbidden, unauthorized } from "./errors.js";
import { consumeRateLimit, requestIp } from "./ratelimit.js";
import { addResponseHeaders, requestHeader } from "./headers.js";

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Puts deps, a request id (incoming `x-request-id` if sane) and a child logger on the context. */
export function requestContext(deps: RequestDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = requestHeader(c, "x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
    c.set("deps", deps);
    c.set("log", lazyChild(deps.logger, requestId));
    await next();
    addResponseHeaders(c, { "x-request-id": requestId });
  };
}

/**
 * `logger.child({ requestId })`, built on first use: most requests log nothing but their access
 * line (which carries the id itself), and a pino child serialises its bindings when created.
 * One shared proxy handler: a request allocates only its small state object and the proxy.
 */
type LazyChildState = { logger: Logger; requestId: string; child?: Logger };
const childOf = (s: LazyChildState) => (s.child ??= s.logger.child({ requestId: s.requestId }));
const lazyChildHandler: ProxyHandler<LazyChildState> = {
  get(state, prop) {
    const child = childOf(state);
    const value = Reflect.get(child, prop, child);
    return typeof value === "function" ? value.bind(child) : value;
  },
  set: (state, prop, value) => Reflect.set(childOf(state), prop, value),
  has: (state, prop) => Reflect.has(childOf(state), prop),
};
const lazyChild = (logger: Logger, requestId: string) => new Proxy<LazyChildState>({ logger, requestId }, lazyChildHandler) as unknown as Logger;

/** One line per request: method, path (no query string: it may carry secrets), status, duration. */
export function requestLogger(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const principal = c.get("principal");
    // Like every line, scrubbed at the destination (infra/logger.ts).
    c.get("deps").logger.info(
      {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(principal ? { principal: principal.kind === "user" ? principal.address : `apiKey:${principal.apiKeyId}` } : {}),
      },
      "request",
    );
  };
}

/** Client IP past the trusted proxies (TRUST_PROXY, infra/clientIp.ts). */
export function clientIp(c: Context<AppEnv>): string {
  return requestIp(c, c.get("deps").config.trustProxy);
}

/**
 * Limit of `key` in `bucket` (rate-limiter-flexible over Redis, or in-process): 429 + Retry-After +
 * RateLimit-* headers above `limit` per `windowSeconds`; 503 when Redis is down (auth fails closed).
 */
export async function hitRateLimit(c: Context<AppEnv>, bucket: string, key: string, limit: number, windowSeconds: number): Promise<void> {
  await consumeRateLimit(c.get("deps").kv, { name: bucket, points: limit, windowSeconds, failOpen: false }, key);
}

/** Per-IP limit of a route group (configured by AUTH_RATE_LIMIT_*). */
export function rateLimitByIp(bucket: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { windowSeconds, perIp } = c.get("deps").config.auth.rateLimit;
    await hitRateLimit(c, `${bucket}:ip`, clientIp(c), perIp, windowSeconds);
    await next();
  };
}

/** The caller of a request (Bearer access token or API key): 401 when absent or invalid. */
export async function authenticate(c: Context<AppEnv>): Promise<Principal> {
  const { auth } = c.get("deps");
  const apiKey = requestHeader(c, "x-api-key");
  const authorization = requestHeader(c, "authorization");
  if (authorization !== undefined) {
    const match = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(authorization.trim());
    if (!match) throw unauthorized("TOKEN_INVALID", "Authorization must be `Bearer <access token>`");
    return await auth.authenticateBearer(match[1]!);
  }
  if (apiKey !== undefined) return await auth.authenticateApiKey(apiKey.trim());
  throw unauthorized("UNAUTHENTICATED", "send Authorization: Bearer <access token> or x-api-key");
}

/** Requires a valid access token (Bearer) or API key; sets `c.get("principal")`. */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("principal", await authenticate(c));
  await next();
};

/** Requires authentication and at least one of `roles` (admins pass every role check). */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = await authenticate(c);
    c.set("principal", principal);
    if (!principal.roles.includes("admin") && !roles.some((r) => principal.roles.includes(r)))
      throw forbidden("MISSING_ROLE", `requires role ${roles.join(" or ")}`);
    await next();
  };
}

/** Requires a signed-in wallet (not an API key); returns it. */
export function userPrincipal(c: Context<AppEnv>): Extract<Principal, { kind: "user" }> {
  const principal = c.get("principal");
  if (principal?.kind !== "user") throw forbidden("USER_SESSION_REQUIRED", "this route needs a wallet session, not an API key");
  return principal;
}
