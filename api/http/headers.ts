/**
 * Headers on the hot path, without undici's `Headers` where Node already has them.
 *
 * Served by @hono/node-server (standalone or inside Ponder), `c.env` holds Node's `incoming` and
 * `outgoing`:
 *   - request headers are already parsed in `incoming.headers` (lower-case names), while
 *     `c.req.header()` first builds an undici `Headers` copy of all of them;
 *   - headers every response gets from our middleware (request id, CORS, RateLimit-*) go straight to
 *     `outgoing.setHeader()`, which @hono/node-server's `writeHead` merges with the handler's (the
 *     handler's win on a clash). Through `c.res.headers` each one costs an undici `Headers.set` with
 *     per-character validation, and turns the handler's plain header record into a `Headers` (a
 *     tenth of a cached GET's CPU in bench/api-nfts.ts --profile).
 * Elsewhere (app.request() in tests, other runtimes) both fall back to the Fetch API objects.
 */
import type { Context } from "hono";

type NodeEnv =
  | {
      incoming?: { headers?: Record<string, string | string[] | undefined> };
      outgoing?: { headersSent: boolean; setHeader(name: string, value: string): unknown };
    }
  | undefined;

/** The value of request header `name` (lower-case), several values joined with ", " as Headers.get does. */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = (c.env as NodeEnv)?.incoming?.headers;
  if (!headers) return c.req.header(name);
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Sets `headers` on the response; call after `await next()` (the response, or the error's, exists). */
export function addResponseHeaders(c: Context, headers: Record<string, string>): void {
  const outgoing = (c.env as NodeEnv)?.outgoing;
  if (outgoing && !outgoing.headersSent) {
    for (const name in headers) outgoing.setHeader(name, headers[name]!);
    return;
  }
  const target = c.res.headers;
  for (const name in headers) target.set(name, headers[name]!);
}
