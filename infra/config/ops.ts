/**
 * Sections realtime and limits (rate limits, CORS, health, metrics, GraphQL, SQL over HTTP), see
 * docs/operations.md. Every problem is reported, one line each, in a single ConfigError at start.
 */
import { z } from "zod";
import { serverEnv } from "./index.js";
import { bool, int, parseSection } from "./parse.js";

export type OpsConfig = {
  realtime: {
    port: number;
    host: string;
    path: string;
    maxBufferBytes: number;
    heartbeatMs: number;
    maxRoomsPerClient: number;
    allowAnonymous: boolean;
    /** Run the notifier in this process (every replica may: ticks are serialised by a lock). */
    notifier: boolean;
    /** Notifier: tick interval while no commit notification can wake it (no LISTEN, or it is down). */
    pollMs: number;
    /** Notifier and tracker: tick interval while commit notifications / new heads wake them (a safety net). */
    idleTickMs: number;
    finalityBlocks: number;
    maxEventAgeSeconds: number;
    /** Run the bridge tracker in this process (reads bridges in flight from the chains; one tick at a time across replicas). */
    bridgeTracker: boolean;
    bridgeTrackerPollMs: number;
    /** How long a bridge's completion push waits for the tracker's last steps (bridge:updated first). */
    bridgeHoldMs: number;
    /** Resume log (realtime/pushLog.ts): pushes kept in the Redis Stream this long, and at most this many. */
    resumeRetentionSeconds: number;
    resumeMaxPushes: number;
    /** Run the realtime service inside Ponder's process (src/api/index.ts; `npm run dev` sets it: on PGlite nothing else can read the index). */
    inProcess: boolean;
  };
  /** Schema of the indexed tables for processes outside Ponder (the views schema in production). */
  indexedSchema: string | undefined;
  rateLimit: { windowSeconds: number; perIp: number; perWallet: number; graphqlPerIp: number };
  /** "*" → any origin, no credentials; a list → those origins, credentials allowed. */
  corsOrigins: "*" | string[];
  /** cacheMs: a health probe answer is reused this long (health routes are unlimited). */
  health: { maxLagBlocks: number; rpcTimeoutMs: number; cacheMs: number };
  /** When set, /api/metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Per-request limits of /graphql (api/graphql/limits.ts). */
  graphql: { maxCost: number; maxDepth: number; maxAliases: number; maxTokens: number };
  /** Ponder's SQL-over-HTTP (/sql/*, api/http/sqlGuard.ts): off in production unless enabled. */
  sqlOverHttp: { enabled: boolean; statementTimeoutMs: number; maxRelations: number; maxPlanRows: number };
};

export const realtimeEnv = z.object({
  REALTIME_IN_PROCESS: bool(false),
  REALTIME_PORT: int(42080, 0, 65535),
  REALTIME_HOST: z.string().optional(),
  REALTIME_PATH: z
    .string()
    .regex(/^\/[\w/-]*$/, "must be a path such as /ws")
    .optional(),
  REALTIME_MAX_BUFFER_BYTES: int(1024 * 1024, 1024),
  REALTIME_HEARTBEAT_MS: int(30_000, 100),
  REALTIME_MAX_ROOMS: int(100, 1, 10_000),
  REALTIME_ALLOW_ANONYMOUS: bool(true),
  REALTIME_NOTIFIER: bool(true),
  REALTIME_POLL_MS: int(100, 10),
  REALTIME_IDLE_TICK_MS: int(10_000, 50, 600_000),
  REALTIME_FINALITY_BLOCKS: int(30, 1),
  REALTIME_MAX_EVENT_AGE_SECONDS: int(3600, 1),
  REALTIME_BRIDGE_TRACKER: bool(true),
  REALTIME_BRIDGE_TRACKER_POLL_MS: int(250, 10),
  REALTIME_BRIDGE_HOLD_MS: int(2_000, 0, 60_000),
  REALTIME_RESUME_RETENTION_SECONDS: int(3_600, 1, 7 * 86_400),
  REALTIME_RESUME_MAX_PUSHES: int(100_000, 10, 10_000_000),
});

export const limitsEnv = z.object({
  RATE_LIMIT_WINDOW_SECONDS: int(60, 1),
  RATE_LIMIT_PER_IP: int(600, 1),
  RATE_LIMIT_PER_WALLET: int(300, 1),
  RATE_LIMIT_GRAPHQL_PER_IP: int(3000, 1),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v || v.trim() === "*") return "*" as const;
      const origins = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const o of origins) {
        try {
          const u = new URL(o);
          if (u.origin !== o) throw new Error();
        } catch {
          ctx.addIssue({ code: "custom", message: `"${o}" is not an origin (scheme://host[:port], no path)` });
        }
      }
      return origins;
    }),
  HEALTH_MAX_LAG_BLOCKS: int(50, 0),
  HEALTH_RPC_TIMEOUT_MS: int(2_000, 100),
  HEALTH_CACHE_MS: int(250, 0, 60_000),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  GRAPHQL_MAX_COST: int(5_000, 1),
  GRAPHQL_MAX_DEPTH: int(30, 2, 1_000),
  GRAPHQL_MAX_ALIASES: int(30, 0, 10_000),
  GRAPHQL_MAX_TOKENS: int(1_000, 10, 100_000),
  SQL_OVER_HTTP: z.enum(["on", "off", ""]).optional(),
  SQL_STATEMENT_TIMEOUT_MS: int(2_000, 10, 600_000),
  SQL_MAX_RELATIONS: int(3, 1, 100),
  SQL_MAX_PLAN_ROWS: int(100_000, 1),
});

const opsEnv = z.object({
  ...realtimeEnv.shape,
  ...limitsEnv.shape,
  ...serverEnv.pick({ NODE_ENV: true, INDEXED_SCHEMA: true, DATABASE_SCHEMA: true }).shape,
});

export function loadOpsConfig(env: NodeJS.ProcessEnv = process.env): OpsConfig {
  const e = parseSection(opsEnv, env);
  const indexedSchema = e.INDEXED_SCHEMA ?? (e.DATABASE_SCHEMA && /^[A-Za-z_]\w{0,62}$/.test(e.DATABASE_SCHEMA) ? e.DATABASE_SCHEMA : undefined);
  return {
    realtime: {
      port: e.REALTIME_PORT,
      host: e.REALTIME_HOST || "0.0.0.0",
      path: e.REALTIME_PATH || "/ws",
      maxBufferBytes: e.REALTIME_MAX_BUFFER_BYTES,
      heartbeatMs: e.REALTIME_HEARTBEAT_MS,
      maxRoomsPerClient: e.REALTIME_MAX_ROOMS,
      allowAnonymous: e.REALTIME_ALLOW_ANONYMOUS,
      notifier: e.REALTIME_NOTIFIER,
      pollMs: e.REALTIME_POLL_MS,
      idleTickMs: e.REALTIME_IDLE_TICK_MS,
      finalityBlocks: e.REALTIME_FINALITY_BLOCKS,
      maxEventAgeSeconds: e.REALTIME_MAX_EVENT_AGE_SECONDS,
      bridgeTracker: e.REALTIME_BRIDGE_TRACKER,
      bridgeTrackerPollMs: e.REALTIME_BRIDGE_TRACKER_POLL_MS,
      bridgeHoldMs: e.REALTIME_BRIDGE_HOLD_MS,
      resumeRetentionSeconds: e.REALTIME_RESUME_RETENTION_SECONDS,
      resumeMaxPushes: e.REALTIME_RESUME_MAX_PUSHES,
      inProcess: e.REALTIME_IN_PROCESS,
    },
    indexedSchema,
    rateLimit: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      perIp: e.RATE_LIMIT_PER_IP,
      perWallet: e.RATE_LIMIT_PER_WALLET,
      graphqlPerIp: e.RATE_LIMIT_GRAPHQL_PER_IP,
    },
    corsOrigins: e.CORS_ORIGINS,
    health: { maxLagBlocks: e.HEALTH_MAX_LAG_BLOCKS, rpcTimeoutMs: e.HEALTH_RPC_TIMEOUT_MS, cacheMs: e.HEALTH_CACHE_MS },
    metricsToken: e.METRICS_TOKEN || undefined,
    graphql: { maxCost: e.GRAPHQL_MAX_COST, maxDepth: e.GRAPHQL_MAX_DEPTH, maxAliases: e.GRAPHQL_MAX_ALIASES, maxTokens: e.GRAPHQL_MAX_TOKENS },
    sqlOverHttp: {
      // Off in production unless SQL_OVER_HTTP=on; on elsewhere unless SQL_OVER_HTTP=off.
      enabled: e.SQL_OVER_HTTP ? e.SQL_OVER_HTTP === "on" : e.NODE_ENV !== "production",
      statementTimeoutMs: e.SQL_STATEMENT_TIMEOUT_MS,
      maxRelations: e.SQL_MAX_RELATIONS,
      maxPlanRows: e.SQL_MAX_PLAN_ROWS,
    },
  };
}
