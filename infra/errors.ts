/**
 * The errors services raise for their callers: a stable `code` and message, the HTTP status the API
 * answers with (api/http/errors.ts turns them into `{ error: { code, message } }`), and the `cause`
 * behind it (the RPC or database error behind a 503 stays attached for the logs).
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
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
export const dependencyDown = (code: string, message: string, cause?: unknown) => new ApiError(503, code, message, {}, { cause });

const DEPENDENCY_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "EHOSTUNREACH",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "08000",
  "08001",
  "08003",
  "08006",
]);

/** True for errors of Postgres/Redis/RPC connectivity (answered 503, not 500). */
export function isDependencyError(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === "string" && DEPENDENCY_CODES.has(e.code)) return true;
    // ioredis does not export MaxRetriesPerRequestError from its entry point: recognised by name.
    if (e.name === "MaxRetriesPerRequestError") return true;
    if (
      typeof e.message === "string" &&
      /Connection is closed|connection terminated|Connection terminated|timeout exceeded when trying to connect|PGlite is closed|Client has encountered a connection error and is not queryable/i.test(
        e.message,
      )
    )
      return true;
  }
  return false;
}
