/**
 * CORS from CORS_ORIGINS: "*" (default) lets any origin read, without credentials; a list of origins
 * allows exactly those, with credentials. Inside Ponder's server its own `cors({ origin: "*" })`
 * runs first and answers preflights itself; ours then sets the headers of the actual responses
 * (docs/operations.md).
 *
 * Preflights (OPTIONS) go to hono's `cors`. Actual requests get the same headers, set after the
 * handler (api/http/headers.ts addResponseHeaders): hono's `cors` sets them on `c.res` *before* the
 * handler, which makes @hono/node-server build a real undici Response up front and then re-stream
 * the handler's body through it (a quarter of a cached GET's CPU in bench/api-nfts.ts --profile).
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { addResponseHeaders, requestHeader } from "./headers.js";

const common = {
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "x-api-key", "x-request-id"],
  exposeHeaders: ["x-request-id", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"],
  maxAge: 600,
};
const EXPOSE = common.exposeHeaders.join(",");
const ANY = { "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE };

export function corsFromConfig(origins: "*" | string[]): MiddlewareHandler {
  const any = origins === "*";
  const allowed = new Set(any ? [] : origins);
  const preflight = any
    ? cors({ ...common, origin: "*", credentials: false })
    : cors({ ...common, origin: (origin) => (allowed.has(origin) ? origin : null), credentials: true });
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return await preflight(c, next);
    const origin = requestHeader(c, "origin");
    await next();
    // The response is final here (the error handler has run).
    if (any) return addResponseHeaders(c, ANY);
    // A list: on the response itself, so that it also replaces (or removes) the "*" that Ponder's
    // own cors() in front of our app has put there (Node's outgoing headers would lose to it).
    const headers = c.res.headers;
    if (origin && allowed.has(origin)) {
      headers.set("Access-Control-Allow-Origin", origin);
      headers.set("Access-Control-Allow-Credentials", "true");
    } else {
      headers.delete("Access-Control-Allow-Origin");
      headers.delete("Access-Control-Allow-Credentials");
    }
    headers.set("Access-Control-Expose-Headers", EXPOSE);
    headers.append("Vary", "Origin");
  };
}
