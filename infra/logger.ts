/** pino logger with secrets redacted wherever they may appear in a log object. */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths pino censors. Request/response bodies are never logged; these catch objects passed by hand. */
export const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  'headers["x-api-key"]',
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "req.headers.cookie",
  "apiKey",
  "key",
  "accessToken",
  "refreshToken",
  "signature",
  "privateKey",
  "secret",
  "password",
  "token",
  "access_token",
  "cookie",
  "*.authorization",
  '*["x-api-key"]',
  "*.apiKey",
  "*.accessToken",
  "*.refreshToken",
  "*.signature",
  "*.privateKey",
  "*.secret",
  "*.password",
  "*.token",
  "*.access_token",
  "*.cookie",
  "*.d",
];

/** The per-request access logger of each logger made by createLogger (same destination, level and name). */
const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * A pino logger that redacts REDACT_PATHS. Without `destination` it writes to stdout through an
 * asynchronous buffer (pino.destination({ sync: false })): a log line never blocks a request on a
 * write(2). pino flushes that buffer when the process exits: synchronously on process.exit (what
 * api/main.ts and Ponder do on SIGINT/SIGTERM), through the event loop on 'beforeExit'. A process
 * killed by a signal it does not handle (SIGKILL) loses what is still buffered.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  const base = { name: options.name ?? "cosmic-api", level: options.level ?? "info" };
  const logger = pino({ ...base, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, serializers: { err: pino.stdSerializers.err } }, destination);
  // Access lines have a fixed shape (method, path without query, status, duration, principal id,
  // request id) with nothing to censor; pino's redaction (a copy of every logged object) would be
  // the largest cost of logging every request, so they go through a sibling without it.
  accessLoggers.set(logger, pino(base, destination));
  return logger;
}

/**
 * The logger for the one-line-per-request access log (api/http/middleware.ts requestLogger): no
 * redaction, so only for fields that are safe by construction. Follows `logger`'s level changes.
 */
export function accessLogger(logger: Logger): Logger {
  const access = accessLoggers.get(logger);
  if (!access) return logger;
  if (access.level !== logger.level) access.level = logger.level;
  return access;
}

/** Strings that look like secrets (hex private keys, bearer tokens, JWTs) scrubbed from free text. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/0x[0-9a-fA-F]{64,}/g, "0x[redacted]")
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "[jwt redacted]")
    .replace(/\b(clk|crt)_[\w-]{16,}/g, "$1_[redacted]");
}
