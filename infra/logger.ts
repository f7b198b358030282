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

export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "cosmic-api",
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}

/** Strings that look like secrets (hex private keys, bearer tokens, JWTs) scrubbed from free text. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/0x[0-9a-fA-F]{64,}/g, "0x[redacted]")
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "[jwt redacted]")
    .replace(/\b(clk|crt)_[\w-]{16,}/g, "$1_[redacted]");
}
