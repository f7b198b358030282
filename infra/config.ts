/**
 * Configuration of the API process, read once from the environment. Every later service adds its
 * own section here; nothing else reads `process.env` directly.
 */
import path from "node:path";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { type TrustProxy, validateProxies } from "./clientIp.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ChainConfig = { chainId: number; rpcUrl: string };

export type Config = {
  env: "development" | "test" | "production";
  dataDir: string;
  /** Postgres URL of the off-chain store; undefined → PGlite in `${dataDir}/offchain`. */
  databaseUrl: string | undefined;
  offchainDataDir: string;
  /** Redis URL; undefined → in-process adapter (single process only). */
  redisUrl: string | undefined;
  redisPrefix: string;
  logLevel: string;
  /** Chains whose signatures we verify and that SIWE messages may name. */
  chains: ChainConfig[];
  /** Reverse proxies in front of us (infra/clientIp.ts): the client IP is read past them, from the right. */
  trustProxy: TrustProxy;
  auth: {
    /** SIWE `domain` (RFC 3986 authority) every message must carry. */
    siweDomain: string;
    /** SIWE `uri` every message must carry. */
    siweUri: string;
    nonceTtlSeconds: number;
    clockSkewSeconds: number;
    jwtIssuer: string;
    jwtAudience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    refreshGraceSeconds: number;
    /** Expired sessions are deleted (jobs/pruneSessions.ts) this long after they expire. */
    sessionRetentionSeconds: number;
    /** Private JWKs (JSON array); the first signs, all verify. Undefined → dev key in dataDir. */
    jwtKeys: string | undefined;
    adminAddresses: `0x${string}`[];
    rateLimit: { windowSeconds: number; perIp: number; perAddress: number };
  };
  /** Events service and background jobs (docs/events.md). */
  events: {
    /** Master secret of tickets (signatures, per-ticket code secrets); undefined → dev secret in dataDir. */
    ticketSecret: string | undefined;
    /** Rotation step of the QR code, seconds. */
    codeStepSeconds: number;
    /** Attendees per `distribute` transaction. */
    distributionBatchSize: number;
    /** Check-in (POST /events/:id/verify) opens this long before `startsAt` and closes this long after `endsAt`. */
    checkInOpensBeforeSeconds: number;
    checkInClosesAfterSeconds: number;
  };
  jobs: {
    /** Attempts per job (first run included) before it is marked failed. */
    attempts: number;
    /** First retry delay; doubles at each attempt. */
    backoffMs: number;
    /** Run the job workers in this process (false: enqueue only, workers run in `jobs/main.ts`). */
    runWorkers: boolean;
  };
  /** Webhook deliveries (docs/webhooks.md). */
  webhooks: {
    /** Attempts per delivery (first included) before it is dead-lettered. */
    maxAttempts: number;
    /** First retry delay; doubles at each attempt (capped at 5 min). */
    backoffMs: number;
    /** One attempt's whole request (connect to end of response). */
    timeoutMs: number;
    /** After a rotation the previous secret still signs (second signature) this long. */
    secretOverlapSeconds: number;
    /** How often pending deliveries are handed to the job queue (and lost jobs re-queued). */
    sweepMs: number;
    /** Attempts in flight per worker process (the `webhooks` queue's worker slots). */
    concurrency: number;
    /** Events kept for replay. */
    eventRetentionSeconds: number;
    /** `host:port` exempt from the SSRF check (local receivers in development and tests only). */
    allowHosts: string[];
  };
};

/**
 * An integer environment variable (zod): `def` when unset or empty, otherwise an integer in
 * [min, max]. Messages do not repeat the variable: `configIssues` prefixes each with its name.
 */
export const envInt = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return def;
      const n = Number(v);
      if (!Number.isInteger(n)) ctx.addIssue({ code: "custom", message: `must be an integer (got "${v}")` });
      else if (n < min || n > max)
        ctx.addIssue({
          code: "custom",
          message: max === Number.MAX_SAFE_INTEGER ? `must be >= ${min} (got ${n})` : `must be between ${min} and ${max} (got ${n})`,
        });
      else return n;
      return z.NEVER;
    });

/** One line per problem, `NAME: message`, for a ConfigError that reports everything at once. */
export function configIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("\n");
}

/** Chains come from `PONDER_RPC_URL_<chainId>` (the same variables Ponder's config reads). */
function chainsFromEnv(env: NodeJS.ProcessEnv): ChainConfig[] {
  const chains: ChainConfig[] = [];
  for (const [key, value] of Object.entries(env)) {
    const match = /^PONDER_RPC_URL_(\d+)$/.exec(key);
    if (!match || !value) continue;
    const rpcUrl = value.split(",")[0]!.trim();
    try {
      new URL(rpcUrl);
    } catch {
      throw new ConfigError(`${key} is not a URL`);
    }
    chains.push({ chainId: Number(match[1]), rpcUrl });
  }
  return chains.sort((a, b) => a.chainId - b.chainId);
}

/** TRUST_PROXY: off, a number of trusted hops, or the proxies' IPs/CIDRs. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? "").trim();
  if (value === "" || value === "0" || value === "false") return false;
  if (/^\d+$/.test(value)) return { hops: Math.min(Number(value), 100) };
  if (value === "true")
    throw new ConfigError(
      "TRUST_PROXY=true is not accepted (it trusted the client-chosen leftmost X-Forwarded-For hop): give the number of proxies in front of the API (e.g. 1) or their IPs/CIDRs",
    );
  const proxies = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    validateProxies(proxies);
  } catch (error) {
    throw new ConfigError(`TRUST_PROXY: ${(error as Error).message} (expected a number of hops or comma-separated proxy IPs/CIDRs)`);
  }
  return { proxies };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const ints = z
    .object({
      AUTH_NONCE_TTL_SECONDS: envInt(600, 10),
      AUTH_CLOCK_SKEW_SECONDS: envInt(60),
      AUTH_ACCESS_TOKEN_TTL_SECONDS: envInt(900, 10),
      AUTH_REFRESH_TOKEN_TTL_SECONDS: envInt(30 * 24 * 3600, 60),
      AUTH_REFRESH_GRACE_SECONDS: envInt(10),
      AUTH_SESSION_RETENTION_SECONDS: envInt(7 * 24 * 3600),
      AUTH_RATE_LIMIT_WINDOW_SECONDS: envInt(60, 1),
      AUTH_RATE_LIMIT_PER_IP: envInt(60, 1),
      AUTH_RATE_LIMIT_PER_ADDRESS: envInt(20, 1),
      EVENTS_CODE_STEP_SECONDS: envInt(30, 5),
      EVENTS_DISTRIBUTION_BATCH_SIZE: envInt(100, 1),
      EVENTS_CHECKIN_OPENS_BEFORE_SECONDS: envInt(3 * 3600),
      EVENTS_CHECKIN_CLOSES_AFTER_SECONDS: envInt(3 * 3600),
      JOBS_ATTEMPTS: envInt(5, 1),
      JOBS_BACKOFF_MS: envInt(1000, 0),
      WEBHOOK_MAX_ATTEMPTS: envInt(8, 1, 50),
      WEBHOOK_BACKOFF_MS: envInt(2000, 0),
      WEBHOOK_TIMEOUT_MS: envInt(5000, 100, 60_000),
      WEBHOOK_SECRET_OVERLAP_SECONDS: envInt(86_400, 0),
      WEBHOOK_SWEEP_MS: envInt(1000, 50, 600_000),
      WEBHOOK_CONCURRENCY: envInt(16, 1, 1000),
      WEBHOOK_EVENT_RETENTION_SECONDS: envInt(7 * 86_400, 60),
    })
    .safeParse(env);
  if (!ints.success) throw new ConfigError(configIssues(ints.error));
  const n = ints.data;

  const nodeEnv = env.NODE_ENV === "production" ? "production" : env.NODE_ENV === "test" ? "test" : "development";
  const dataDir = path.resolve(env.DATA_DIR || ".data");
  const chains = chainsFromEnv(env);

  const admins = (env.ADMIN_ADDRESSES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((a) => {
      if (!isAddress(a, { strict: false })) throw new ConfigError(`ADMIN_ADDRESSES: "${a}" is not an address`);
      return getAddress(a);
    });

  const siweUri = env.AUTH_SIWE_URI || "http://localhost:42069";
  let siweDomain = env.AUTH_SIWE_DOMAIN;
  try {
    siweDomain ||= new URL(siweUri).host;
  } catch {
    throw new ConfigError("AUTH_SIWE_URI must be an absolute URI");
  }
  if (nodeEnv === "production" && !env.AUTH_JWT_KEYS) throw new ConfigError("AUTH_JWT_KEYS is required in production");
  if (nodeEnv === "production" && !env.EVENTS_TICKET_SECRET) throw new ConfigError("EVENTS_TICKET_SECRET is required in production");
  if (env.EVENTS_TICKET_SECRET && env.EVENTS_TICKET_SECRET.length < 32) throw new ConfigError("EVENTS_TICKET_SECRET must be at least 32 characters");

  return {
    env: nodeEnv,
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    offchainDataDir: path.resolve(env.OFFCHAIN_DATA_DIR || path.join(dataDir, "offchain")),
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX ?? "cosmic:",
    logLevel: env.LOG_LEVEL || (nodeEnv === "test" ? "silent" : "info"),
    chains,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    auth: {
      siweDomain,
      siweUri,
      nonceTtlSeconds: n.AUTH_NONCE_TTL_SECONDS,
      clockSkewSeconds: n.AUTH_CLOCK_SKEW_SECONDS,
      jwtIssuer: env.AUTH_JWT_ISSUER || siweUri,
      jwtAudience: env.AUTH_JWT_AUDIENCE || "cosmic-loop-api",
      accessTokenTtlSeconds: n.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: n.AUTH_REFRESH_TOKEN_TTL_SECONDS,
      refreshGraceSeconds: n.AUTH_REFRESH_GRACE_SECONDS,
      sessionRetentionSeconds: n.AUTH_SESSION_RETENTION_SECONDS,
      jwtKeys: env.AUTH_JWT_KEYS || undefined,
      adminAddresses: admins,
      rateLimit: {
        windowSeconds: n.AUTH_RATE_LIMIT_WINDOW_SECONDS,
        perIp: n.AUTH_RATE_LIMIT_PER_IP,
        perAddress: n.AUTH_RATE_LIMIT_PER_ADDRESS,
      },
    },
    events: {
      ticketSecret: env.EVENTS_TICKET_SECRET || undefined,
      codeStepSeconds: n.EVENTS_CODE_STEP_SECONDS,
      distributionBatchSize: Math.min(n.EVENTS_DISTRIBUTION_BATCH_SIZE, 500),
      checkInOpensBeforeSeconds: n.EVENTS_CHECKIN_OPENS_BEFORE_SECONDS,
      checkInClosesAfterSeconds: n.EVENTS_CHECKIN_CLOSES_AFTER_SECONDS,
    },
    jobs: {
      attempts: n.JOBS_ATTEMPTS,
      backoffMs: n.JOBS_BACKOFF_MS,
      runWorkers: env.JOBS_WORKER !== "0" && env.JOBS_WORKER !== "false",
    },
    webhooks: {
      maxAttempts: n.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: n.WEBHOOK_BACKOFF_MS,
      timeoutMs: n.WEBHOOK_TIMEOUT_MS,
      secretOverlapSeconds: n.WEBHOOK_SECRET_OVERLAP_SECONDS,
      sweepMs: n.WEBHOOK_SWEEP_MS,
      concurrency: n.WEBHOOK_CONCURRENCY,
      eventRetentionSeconds: n.WEBHOOK_EVENT_RETENTION_SECONDS,
      allowHosts: (env.WEBHOOK_ALLOW_HOSTS ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    },
  };
}
