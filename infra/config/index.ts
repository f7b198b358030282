/**
 * The configuration, read once from the environment. Every variable of the project is declared and
 * validated in this folder, one section per area, each default written once in its section's
 * schema; `sections.ts` is the registry of all of them (ops/check-env.ts runs it, and a test keeps
 * `.env.example` equal to it).
 *
 * - this file: server (process, databases, chains, signer), auth, events, jobs, webhooks → `loadConfig`
 * - `ops.ts`: realtime and limits (rate limits, CORS, health, metrics, GraphQL, SQL) → `loadOpsConfig`
 * - `nfts.ts`: metadata and bridge → `loadNftSettings`
 * - `indexer.ts`: what the indexer reads (network, files, RPC/WebSocket URLs) → `readIndexerEnv`
 * - `devnet.ts`: the local chains of `npm run dev` / `npm run devnet` → `readDevnetEnv`
 *
 * Nothing outside this folder reads a variable (a test checks it): entry points pass `process.env` in.
 */
import path from "node:path";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { type TrustProxy, validateProxies } from "../clientIp.js";
import { ConfigError, bool, int, list, parseSection, text } from "./parse.js";

export { ConfigError };

export type ChainConfig = { chainId: number; rpcUrl: string };

export type Config = {
  env: "development" | "test" | "production";
  /** PORT when set (the standalone API's default is its own, Ponder's is Ponder's). */
  port?: number;
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
  /** MINTER_PRIVATE_KEY: the server's transaction signer. */
  minterPrivateKey?: `0x${string}`;
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
    /** Fastest pace of the dispatcher's sweeps (pending deliveries handed to the job queue, lost jobs re-queued) while deliveries are due. */
    sweepMs: number;
    /** Its safety sweep when nothing is due and no wake arrives (new deliveries wake it at once, webhooks/wake.ts). */
    idleSweepMs: number;
    /** Attempts in flight per worker process (the `webhooks` queue's worker slots). */
    concurrency: number;
    /** Events kept for replay. */
    eventRetentionSeconds: number;
    /** `host:port` exempt from the SSRF check (local receivers in development and tests only). */
    allowHosts: string[];
  };
};

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

/** Process, databases, chains. PONDER_RPC_URL_<chainId> (the chains SIWE may name) is read by `chainsFromEnv`. */
export const serverEnv = z.object({
  /** production and test are recognised; anything else is development. */
  NODE_ENV: z
    .string()
    .optional()
    .transform((v) => (v === "production" || v === "test" ? v : "development")),
  LOG_LEVEL: text(),
  /** Port of the standalone API (api/main.ts; 42070 when unset) and of Ponder's server (its own default 42069). */
  PORT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      const n = Number(v);
      if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
      ctx.addIssue({ code: "custom", message: `must be a port number (got "${v}")` });
      return z.NEVER;
    }),
  DATA_DIR: text(),
  TRUST_PROXY: text(),
  DATABASE_URL: text(),
  /** Ponder's schema for `ponder start` (the ops/ scripts set it per deploy). */
  DATABASE_SCHEMA: text(),
  /** Schema of the indexed tables for processes outside Ponder (production: the views schema); default DATABASE_SCHEMA. */
  INDEXED_SCHEMA: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a Postgres schema name")
    .optional(),
  OFFCHAIN_DATA_DIR: text(),
  REDIS_URL: text(),
  REDIS_PREFIX: z.string().optional(),
  /** The server's transaction signer (mints, distributions); the devnet's first account when unset on the devnet. */
  MINTER_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex key")
    .optional()
    .or(z.literal("").transform(() => undefined)),
});

/** The server section alone (for a tool that needs the database or the port, not the API's secrets). */
export const readServerEnv = (env: NodeJS.ProcessEnv) => parseSection(serverEnv, env);

export const authEnv = z.object({
  AUTH_SIWE_URI: text(),
  AUTH_SIWE_DOMAIN: text(),
  AUTH_JWT_ISSUER: text(),
  AUTH_JWT_AUDIENCE: text(),
  AUTH_JWT_KEYS: text(),
  ADMIN_ADDRESSES: list(),
  AUTH_NONCE_TTL_SECONDS: int(600, 10),
  AUTH_CLOCK_SKEW_SECONDS: int(60),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: int(900, 10),
  AUTH_REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600, 60),
  AUTH_REFRESH_GRACE_SECONDS: int(10),
  AUTH_SESSION_RETENTION_SECONDS: int(7 * 24 * 3600),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: int(60, 1),
  AUTH_RATE_LIMIT_PER_IP: int(60, 1),
  AUTH_RATE_LIMIT_PER_ADDRESS: int(20, 1),
});

export const eventsEnv = z.object({
  EVENTS_TICKET_SECRET: text(),
  EVENTS_CODE_STEP_SECONDS: int(30, 5),
  EVENTS_DISTRIBUTION_BATCH_SIZE: int(100, 1),
  EVENTS_CHECKIN_OPENS_BEFORE_SECONDS: int(3 * 3600),
  EVENTS_CHECKIN_CLOSES_AFTER_SECONDS: int(3 * 3600),
});

export const jobsEnv = z.object({
  JOBS_ATTEMPTS: int(5, 1),
  JOBS_BACKOFF_MS: int(1000, 0),
  JOBS_WORKER: bool(true),
});

export const webhooksEnv = z.object({
  WEBHOOK_MAX_ATTEMPTS: int(8, 1, 50),
  WEBHOOK_BACKOFF_MS: int(2000, 0),
  WEBHOOK_TIMEOUT_MS: int(5000, 100, 60_000),
  WEBHOOK_SECRET_OVERLAP_SECONDS: int(86_400, 0),
  WEBHOOK_SWEEP_MS: int(1000, 50, 600_000),
  WEBHOOK_IDLE_SWEEP_MS: int(30_000, 50, 3_600_000),
  WEBHOOK_CONCURRENCY: int(16, 1, 1000),
  WEBHOOK_EVENT_RETENTION_SECONDS: int(7 * 86_400, 60),
  WEBHOOK_ALLOW_HOSTS: list(true),
});

const apiEnv = z.object({ ...serverEnv.shape, ...authEnv.shape, ...eventsEnv.shape, ...jobsEnv.shape, ...webhooksEnv.shape });

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseSection(apiEnv, env);
  const nodeEnv = e.NODE_ENV;
  const dataDir = path.resolve(e.DATA_DIR ?? ".data");
  const admins = e.ADMIN_ADDRESSES.map((a) => {
    if (!isAddress(a, { strict: false })) throw new ConfigError(`ADMIN_ADDRESSES: "${a}" is not an address`);
    return getAddress(a);
  });
  const siweUri = e.AUTH_SIWE_URI ?? "http://localhost:42069";
  let siweDomain = e.AUTH_SIWE_DOMAIN;
  try {
    siweDomain ||= new URL(siweUri).host;
  } catch {
    throw new ConfigError("AUTH_SIWE_URI must be an absolute URI");
  }
  if (nodeEnv === "production" && !e.AUTH_JWT_KEYS) throw new ConfigError("AUTH_JWT_KEYS is required in production");
  if (nodeEnv === "production" && !e.EVENTS_TICKET_SECRET) throw new ConfigError("EVENTS_TICKET_SECRET is required in production");
  if (e.EVENTS_TICKET_SECRET && e.EVENTS_TICKET_SECRET.length < 32) throw new ConfigError("EVENTS_TICKET_SECRET must be at least 32 characters");

  return {
    env: nodeEnv,
    port: e.PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    offchainDataDir: path.resolve(e.OFFCHAIN_DATA_DIR ?? path.join(dataDir, "offchain")),
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? "cosmic:",
    logLevel: e.LOG_LEVEL ?? (nodeEnv === "test" ? "silent" : "info"),
    chains: chainsFromEnv(env),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    minterPrivateKey: e.MINTER_PRIVATE_KEY as `0x${string}` | undefined,
    auth: {
      siweDomain,
      siweUri,
      nonceTtlSeconds: e.AUTH_NONCE_TTL_SECONDS,
      clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
      jwtIssuer: e.AUTH_JWT_ISSUER ?? siweUri,
      jwtAudience: e.AUTH_JWT_AUDIENCE ?? "cosmic-loop-api",
      accessTokenTtlSeconds: e.AUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.AUTH_REFRESH_TOKEN_TTL_SECONDS,
      refreshGraceSeconds: e.AUTH_REFRESH_GRACE_SECONDS,
      sessionRetentionSeconds: e.AUTH_SESSION_RETENTION_SECONDS,
      jwtKeys: e.AUTH_JWT_KEYS,
      adminAddresses: admins,
      rateLimit: {
        windowSeconds: e.AUTH_RATE_LIMIT_WINDOW_SECONDS,
        perIp: e.AUTH_RATE_LIMIT_PER_IP,
        perAddress: e.AUTH_RATE_LIMIT_PER_ADDRESS,
      },
    },
    events: {
      ticketSecret: e.EVENTS_TICKET_SECRET,
      codeStepSeconds: e.EVENTS_CODE_STEP_SECONDS,
      distributionBatchSize: Math.min(e.EVENTS_DISTRIBUTION_BATCH_SIZE, 500),
      checkInOpensBeforeSeconds: e.EVENTS_CHECKIN_OPENS_BEFORE_SECONDS,
      checkInClosesAfterSeconds: e.EVENTS_CHECKIN_CLOSES_AFTER_SECONDS,
    },
    jobs: { attempts: e.JOBS_ATTEMPTS, backoffMs: e.JOBS_BACKOFF_MS, runWorkers: e.JOBS_WORKER },
    webhooks: {
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      secretOverlapSeconds: e.WEBHOOK_SECRET_OVERLAP_SECONDS,
      sweepMs: e.WEBHOOK_SWEEP_MS,
      idleSweepMs: Math.max(e.WEBHOOK_IDLE_SWEEP_MS, e.WEBHOOK_SWEEP_MS),
      concurrency: e.WEBHOOK_CONCURRENCY,
      eventRetentionSeconds: e.WEBHOOK_EVENT_RETENTION_SECONDS,
      allowHosts: e.WEBHOOK_ALLOW_HOSTS,
    },
  };
}
