/**
 * CORS from CORS_ORIGINS: "*" (default) lets any origin read, without credentials; a list of origins
 * allows exactly those, with credentials. Inside Ponder's server its own `cors({ origin: "*" })`
 * runs first and answers preflights itself; ours then sets the headers of the actual responses
 * (docs/operations.md).
 */
import { cors } from "hono/cors";

const common = {
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "x-api-key", "x-request-id"],
  exposeHeaders: ["x-request-id", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"],
  maxAge: 600,
};

export function corsFromConfig(origins: "*" | string[]) {
  if (origins === "*") return cors({ ...common, origin: "*", credentials: false });
  const allowed = new Set(origins);
  return cors({ ...common, origin: (origin) => (allowed.has(origin) ? origin : null), credentials: true });
}
