/**
 * Request headers on the hot path. Served by @hono/node-server (standalone or inside Ponder), Node
 * has already parsed them into `incoming.headers` (lower-case names); `c.req.header()` would first
 * build an undici `Headers` copy of all of them (with per-character validation) for every request.
 * Elsewhere (app.request() in tests, other runtimes) it falls back to `c.req.header()`.
 */
import type { Context } from "hono";

type NodeEnv = { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined;

/** The value of request header `name` (lower-case), several values joined with ", " as Headers.get does. */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = (c.env as NodeEnv)?.incoming?.headers;
  if (!headers) return c.req.header(name);
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
