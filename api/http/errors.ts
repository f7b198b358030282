/** Uniform error responses: `{ error: { code, message } }`, never a stack trace, never a 500 for client input. */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, isDependencyError } from "../../infra/errors.js";
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

export function createErrorHandler(getLogger: (c: Context) => Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof ApiError) {
      // The answer names the code; the cause (the RPC, Postgres or Redis error behind a 503) goes to the log only.
      if (error.status >= 500 && error.cause !== undefined) getLogger(c).warn({ err: error.cause, code: error.code }, "dependency unavailable");
      for (const [k, v] of Object.entries(error.headers)) c.header(k, v);
      return errorJson(c, error.status, error.code, error.message);
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const code =
        status === 400 && /JSON/i.test(error.message) ? "MALFORMED_JSON" : (STATUS_CODES[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"));
      return errorJson(c, status, code, status >= 500 ? "internal error" : error.message || code.toLowerCase());
    }
    if (isDependencyError(error)) {
      getLogger(c).warn({ err: error }, "dependency unavailable");
      c.header("Retry-After", "5");
      return errorJson(c, 503, "DEPENDENCY_UNAVAILABLE", "a backing service is unavailable, retry later");
    }
    getLogger(c).error({ err: error }, "unhandled error");
    return errorJson(c, 500, "INTERNAL_ERROR", "internal error");
  };
}

export const notFoundHandler = (c: Context) => errorJson(c, 404, "ROUTE_NOT_FOUND", `no route ${c.req.method} ${c.req.path}`);
