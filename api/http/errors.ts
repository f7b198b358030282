/** Uniform error responses: `{ error: { code, message } }`, never a stack trace, never a 500 for client input. */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CosmicError, type ErrorKind, ServiceError, isDependencyError } from "../../infra/errors.js";
import type { Logger } from "../../infra/logger.js";

// The service errors (infra/errors.ts), re-exported for the routes.
export * from "../../infra/errors.js";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "SIWE_NONCE_UNKNOWN" }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

export function errorJson(c: Context, status: ContentfulStatusCode, code: string, message: string, extra: Record<string, unknown> = {}) {
  return c.json({ error: { code, message, ...extra } }, status);
}

const STATUS_CODES: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
};

/** The one place a kind of error becomes an HTTP status. */
export const HTTP_STATUS_OF_KIND: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
  config: 500,
  internal: 500,
};

export const httpStatusOf = (error: CosmicError): ContentfulStatusCode => HTTP_STATUS_OF_KIND[error.kind];

/** Response headers an error carries for its client (a rate limit's counters, Retry-After). */
export function errorHeaders(error: CosmicError): Record<string, string> {
  const headers: Record<string, string> = { ...(error as { headers?: Record<string, string> }).headers };
  if (error.retryAfterSeconds !== undefined) headers["Retry-After"] ??= String(error.retryAfterSeconds);
  return headers;
}

export function createErrorHandler(getLogger: (c: Context) => Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof ServiceError) {
      const status = httpStatusOf(error);
      // Our configuration or a bug: the client learns nothing but that it failed.
      if (status === 500) {
        getLogger(c).error({ err: error, code: error.code }, "unhandled error");
        return errorJson(c, 500, "INTERNAL_ERROR", "internal error");
      }
      // The answer names the code; the cause (the RPC, Postgres or Redis error behind a 503) goes to the log only.
      if (status >= 500 && error.cause !== undefined) getLogger(c).warn({ err: error.cause, code: error.code }, "dependency unavailable");
      for (const [k, v] of Object.entries(errorHeaders(error))) c.header(k, v);
      return errorJson(c, status, error.code, error.message);
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const code =
        status === 400 && /JSON/i.test(error.message) ? "MALFORMED_JSON" : (STATUS_CODES[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"));
      return errorJson(c, status, code, status >= 500 ? "internal error" : error.message || code.toLowerCase());
    }
    // An error of a layer below that no service translated: only "a dependency is down" is worth telling.
    if (isDependencyError(error) || (error instanceof CosmicError && error.kind === "unavailable")) {
      getLogger(c).warn({ err: error }, "dependency unavailable");
      c.header("Retry-After", "5");
      return errorJson(c, 503, "DEPENDENCY_UNAVAILABLE", "a backing service is unavailable, retry later");
    }
    getLogger(c).error({ err: error }, "unhandled error");
    return errorJson(c, 500, "INTERNAL_ERROR", "internal error");
  };
}

export const notFoundHandler = (c: Context) => errorJson(c, 404, "ROUTE_NOT_FOUND", `no route ${c.req.method} ${c.req.path}`);
