/**
 * The one error base of the project, in the style of viem's and Ponder's: a stable `code`, a
 * `kind` saying what went wrong for the caller (their input, a missing thing, a conflict, a
 * dependency that is down, our configuration, ...) and the `cause` behind it (the RPC or database
 * error behind an `unavailable` stays attached for the logs). Services and the chain/index/devnet
 * code raise these; only api/http maps a kind to an HTTP status (api/http/errors.ts).
 */

export type ErrorKind =
  /** The caller's input is malformed or out of range. */
  | "invalid"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  /** The request contradicts the current state (already done, cancelled, taken). */
  | "conflict"
  /** Well-formed but refused (the contract, the pathway or a rule says no). */
  | "unprocessable"
  | "rate_limited"
  /** A dependency (Postgres, Redis, an RPC, a chain) cannot answer now: retry later. */
  | "unavailable"
  /** A setting of this deployment is wrong: an operator fixes it. */
  | "config"
  /** A bug or a broken invariant of ours. */
  | "internal";

export type CosmicErrorOptions = { cause?: unknown; retryAfterSeconds?: number };

export class CosmicError extends Error {
  override name = "CosmicError";
  readonly kind: ErrorKind;
  readonly code: string;
  /** When the caller may retry (rate limits, cooldowns). */
  readonly retryAfterSeconds?: number;
  constructor(kind: ErrorKind, code: string, message: string, options: CosmicErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = code;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * What a service answers its caller with (the constructors below): its code and message are meant
 * for the client. Errors of the layers below (chain, index, store) extend CosmicError directly and are
 * translated by the service that understands them.
 */
export class ServiceError extends CosmicError {
  override name = "ServiceError";
}

export const badRequest = (code: string, message: string) => new ServiceError("invalid", code, message);
export const unauthorized = (code: string, message: string) => new ServiceError("unauthenticated", code, message);
export const forbidden = (code: string, message: string) => new ServiceError("forbidden", code, message);
export const notFound = (code: string, message: string) => new ServiceError("not_found", code, message);
export const conflict = (code: string, message: string) => new ServiceError("conflict", code, message);
export const unprocessable = (code: string, message: string) => new ServiceError("unprocessable", code, message);
export const tooManyRequests = (retryAfterSeconds: number, message = "too many requests, retry later") =>
  new ServiceError("rate_limited", "RATE_LIMITED", message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
export const dependencyDown = (code: string, message: string, cause?: unknown) => new ServiceError("unavailable", code, message, { cause });

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
