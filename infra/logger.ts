/**
 * pino logger whose every line goes through one redaction path, `scrubSecrets`, applied to the
 * serialised line at the destination: the access line, a route's own lines, error objects with
 * their messages and stacks (viem errors carry the RPC URL, whose path or query often holds a
 * provider API key), whatever a dependency puts in a message. Nothing reaches stdout without it.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Keys whose values are censored wherever they sit in a logged object (case-insensitive). */
export const SECRET_KEYS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-ticket",
  "apiKey",
  "api_key",
  "key",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "token",
  "ticket",
  "signature",
  "privateKey",
  "private_key",
  "mnemonic",
  "secret",
  "password",
  "passwd",
  // the private part of a JWK
  "d",
];

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
/** `"<key>":"<string value>"` in a JSON line (string values: the leaves that carry secrets). */
const SECRET_FIELD = new RegExp(`"(${SECRET_KEYS.map(esc).join("|")})":"(?:[^"\\\\]|\\\\.)*"`, "gi");
/** URL-looking text: scheme://… up to a quote, whitespace or an escape. */
const URL_TEXT = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'\\<>`]+/gi;
/** Query parameters that carry credentials, in URLs and in bare paths. */
const SECRET_PARAM = /([?&;](?:access_token|token|api[-_]?key|apikey|key|secret|password|auth|sig|signature|ticket|x-ticket)=)[^&#\s"'\\]+/gi;
/** A path segment that looks like a key: 16+ characters mixing letters and digits (Alchemy, Infura, QuickNode, Ankr ...). */
const KEY_SEGMENT = /^(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}$/;

const known = new Set<string>();

/** Configured secrets (keys, tokens, passwords) scrubbed literally from every line, wherever they appear. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const v of values) if (v && v.length >= 8) known.add(v);
}

function scrubUrl(url: string): string {
  const at = url.indexOf("@");
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  // user:password@ in the authority
  if (at > 0 && (slash === -1 || at < slash)) url = `${url.slice(0, url.indexOf("//") + 2)}[redacted]@${url.slice(at + 1)}`;
  const q = url.search(/[?#]/);
  const [base, rest] = q === -1 ? [url, ""] : [url.slice(0, q), url.slice(q)];
  const start = base.indexOf("/", base.indexOf("//") + 2);
  const path =
    start === -1
      ? base
      : `${base.slice(0, start)}${base
          .slice(start)
          .split("/")
          .map((seg) => (KEY_SEGMENT.test(seg) ? "[redacted]" : seg))
          .join("/")}`;
  return path + rest;
}

/**
 * Removes secrets from a text (a log line): values of SECRET_KEYS fields, bearer tokens, JWTs
 * (access tokens, signed tickets), API keys and refresh tokens, rotating ticket codes, credentials
 * and key-like segments of URLs, credential query parameters, and every registered secret.
 */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  return out
    .replace(SECRET_FIELD, (_m, key: string) => `"${key}":"[redacted]"`)
    .replace(/\bBearer\s+[^\s"\\,;]+/gi, "Bearer [redacted]")
    .replace(/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, "[jwt redacted]")
    .replace(/\b(clk|crt)_[\w-]{16,}/g, "$1_[redacted]")
    .replace(/\bCL1:[0-9a-fA-F]+:\d+:[0-9A-Za-z]+/g, "CL1:[redacted]")
    .replace(URL_TEXT, scrubUrl)
    .replace(SECRET_PARAM, "$1[redacted]");
}

/** `destination` with every line scrubbed (flush methods passed through for pino's exit handling). */
function scrubbed(destination: DestinationStream): DestinationStream {
  const target = destination as DestinationStream & { flush?(cb?: () => void): void; flushSync?(): void; end?(): void };
  return {
    write: (line: string) => target.write(scrubSecrets(line)),
    ...(target.flush ? { flush: (cb?: () => void) => target.flush!(cb) } : {}),
    ...(target.flushSync ? { flushSync: () => target.flushSync!() } : {}),
  } as DestinationStream;
}

/**
 * A pino logger whose lines are scrubbed (scrubSecrets). Without `destination` it writes to stdout
 * through an asynchronous buffer (pino.destination({ sync: false })): a log line never blocks a
 * request on a write(2). pino flushes that buffer when the process exits: synchronously on
 * process.exit (what api/main.ts and Ponder do on SIGINT/SIGTERM), through the event loop on
 * 'beforeExit'. A process killed by a signal it does not handle (SIGKILL) loses what is still buffered.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino({ name: options.name ?? "cosmic-api", level: options.level ?? "info", serializers: { err: pino.stdSerializers.err } }, scrubbed(destination));
}
