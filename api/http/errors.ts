/** Uniform error responses: `{ error: { code, message } }`, never a stack trace, never a 500 for client input. */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../../infra/logger.js";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const unauthorized = (code: string, message: string) => new ApiError(401, code, message);
export const forbidden = (code: string, message: string) => new ApiError(403, code, message);
export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const unprocessable = (code: string, message: string) => new ApiError(422, code, message);
export const tooManyRequests = (retryAfterSeconds: number, message = "too many requests, retry later") =>
  new ApiError(429, "RATE_LIMITED", message, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
export const dependencyDown = (code: string, message: string) => new ApiError(503, code, message);

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

const DEPENDENCY_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "EHOSTUNREACH", "57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08006"]);

/** True for errors of Postgres/Redis/RPC connectivity (answered 503, not 500). */
export function isDependencyError(error: unknown): boolean {
  for (let e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && DEPENDENCY_CODES.has(e.code)) return true;
    if (e.name === "MaxRetriesPerRequestError") return true;
    if (typeof e.message === "string" && /Connection is closed|connection terminated|Connection terminated|timeout exceeded when trying to connect|PGlite is closed|Client has encountered a connection error and is not queryable/i.test(e.message)) return true;
  }
  return false;
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
      for (const [k, v] of Object.entries(error.headers)) c.header(k, v);
      return errorJson(c, error.status, error.code, error.message);
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const code = status === 400 && /JSON/i.test(error.message) ? "MALFORMED_JSON" : (STATUS_CODES[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST"));
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
