/**
 * The REST app, built from explicit dependencies so tests (and Ponder's src/api/index.ts) can build
 * it without globals. Each domain contributes a router created with `createRouter()`; mount new
 * services in `buildApp` below.
 */
import type { Config } from "../infra/config/index.js";
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { ServerSigners } from "../chain/serverSigners.js";
import type { IndexerSetup } from "../indexer/setup.js";
import type { IndexedDb } from "../read/db.js";
import type { OffchainStore } from "../offchain/store.js";
import type { JwtKeys } from "../domain/auth/jwt.js";
import { createBridgeRoutes } from "./bridge/routes.js";
import { createChainRoutes } from "./chains/routes.js";
import { createCollectionRoutes } from "./collections/routes.js";
import { createNftRoutes } from "./nfts/routes.js";
import { BRIDGE_DEFAULTS, type BridgeSettings } from "../infra/config/bridge.js";
import { type NftSettings, nftSettings } from "../infra/config/nfts.js";
import { createAuthRoutes } from "./auth/routes.js";
import { AuthService } from "../domain/auth/service.js";
import type { ChainVerifiers } from "../domain/auth/siwe.js";
import type { AppEnv, RequestDeps } from "./http/context.js";
import { createErrorHandler, notFoundHandler } from "./http/errors.js";
import { limitBody } from "./http/bodyLimit.js";
import { requestContext, requestLogger } from "./http/middleware.js";
import { createRouter, mountDocs } from "./http/openapi.js";
import { countStuckBridges } from "../domain/bridge/stuckCounts.js";
import { setStuckBridgesSource } from "../infra/metrics.js";
import { createUserRoutes } from "./users/routes.js";
import type { JobQueue } from "../jobs/types.js";
import { createEventRoutes } from "./events/routes.js";
import { loadTicketSecret, TicketKeys } from "../domain/events/tickets.js";
import { createJobRoutes } from "./jobs/routes.js";
import { createWebhookRoutes } from "./webhooks/routes.js";
import type { OpsConfig } from "../infra/config/ops.js";
import { createHealthRoutes } from "./health/routes.js";
import { corsFromConfig } from "./http/cors.js";
import { createMetricsRoutes, httpMetrics } from "./http/metrics.js";
import { globalRateLimit, graphqlRateLimit } from "./http/ratelimit.js";
import { createIndexerRoutes } from "./indexer/routes.js";
import { DEFAULT_GRAPHQL_LIMITS, graphqlHandler } from "./graphql/server.js";

/** The GraphQL endpoint (GraphiQL on GET); `/` as Ponder served it before. */
const GRAPHQL_PATHS = new Set(["/graphql", "/"]);

export type AppDependencies = {
  config: Config;
  store: OffchainStore;
  kv: KeyValueStore;
  logger: Logger;
  /** Access-token keys (see JwtKeys.load). */
  keys: JwtKeys;
  /** Signature verification per chain id (viem public clients). */
  verifiers: ChainVerifiers;
  /** Chains and collection deployments (the indexer's setup); absent when none is configured. */
  network?: IndexerSetup;
  /** Read access to the indexed tables (read/db.ts); absent when the API runs without an index. */
  indexed?: IndexedDb;
  /** The server's transaction signers (minter key); absent when no key is configured. */
  signers?: ServerSigners;
  /** NFT metadata settings; defaults (media under config.dataDir) when absent. */
  nft?: NftSettings;
  /** Bridge settings; defaults when absent. */
  bridge?: BridgeSettings;
  /** Background jobs (jobs/index.ts); absent → job routes answer 503. */
  jobs?: JobQueue;
  /** Event ticket keys; default: EVENTS_TICKET_SECRET or the dev secret in config.dataDir. */
  tickets?: TicketKeys;
  /** Rate limits, CORS, health thresholds (infra/opsConfig.ts). Absent (unit tests): no global rate limit, no CORS. */
  ops?: OpsConfig;
  /** The auth service, when the composition root built it (app/deps.ts); else built here. */
  auth?: AuthService;
};

export function buildApp(deps: AppDependencies) {
  const auth = deps.auth ?? new AuthService(deps);
  const requestDeps: RequestDeps = {
    config: deps.config,
    store: deps.store,
    kv: deps.kv,
    logger: deps.logger,
    auth,
    network: deps.network,
    indexed: deps.indexed,
    signers: deps.signers,
    nft: deps.nft ?? nftSettings({ dataDir: deps.config.dataDir }),
    bridge: deps.bridge ?? BRIDGE_DEFAULTS,
  };
  // Every replica with an index reports stuck bridges on scrape, not only the notifier's process.
  if (deps.indexed) {
    const indexed = deps.indexed;
    const stuckAfter = requestDeps.bridge.stuckAfterSeconds;
    const store = deps.store;
    setStuckBridgesSource(() => countStuckBridges(indexed, store, stuckAfter));
  }
  const app = createRouter<AppEnv>();

  app.use("*", requestContext(requestDeps));
  app.use("*", requestLogger());
  app.use("*", httpMetrics());
  if (deps.ops) {
    app.use("*", corsFromConfig(deps.ops.corsOrigins));
    // /graphql keeps its own per-IP budget (RATE_LIMIT_GRAPHQL_PER_IP); every other route the global one.
    const global = globalRateLimit(deps.ops.rateLimit);
    const graphqlLimit = graphqlRateLimit(deps.kv, deps.ops, deps.config.trustProxy);
    app.use("*", (c, next) => (GRAPHQL_PATHS.has(c.req.path) ? graphqlLimit(c, next) : global(c, next)));
  }
  // Over the limit: 413, the excess drained so the keep-alive connection stays usable (api/http/bodyLimit.ts).
  app.use("*", limitBody({ maxBytes: 256 * 1024, message: "request body exceeds 256 KiB" }));
  app.onError(createErrorHandler((c) => (c.get("log") as Logger | undefined) ?? deps.logger));
  app.notFound(notFoundHandler);

  app.route("/", createAuthRoutes());
  app.route("/", createUserRoutes());
  app.route("/", createNftRoutes({ jobs: deps.jobs }));
  app.route("/", createCollectionRoutes({ jobs: deps.jobs }));
  app.route("/", createBridgeRoutes());
  app.route("/", createChainRoutes());
  const tickets = deps.tickets ?? new TicketKeys(loadTicketSecret(deps.config.events.ticketSecret, deps.config.dataDir), deps.config.events.codeStepSeconds);
  app.route("/", createEventRoutes({ tickets, jobs: deps.jobs, network: deps.network, signers: deps.signers }));
  app.route("/", createIndexerRoutes());
  const graphql = graphqlHandler({ tickets, limits: deps.ops?.graphql ?? DEFAULT_GRAPHQL_LIMITS });
  for (const path of GRAPHQL_PATHS) app.on(["GET", "POST"], path, graphql);
  app.route("/", createJobRoutes());
  app.route("/", createWebhookRoutes());
  app.route(
    "/",
    createHealthRoutes({
      maxLagBlocks: deps.ops?.health.maxLagBlocks ?? 50,
      timeoutMs: deps.ops?.health.rpcTimeoutMs ?? 2_000,
      cacheMs: deps.ops?.health.cacheMs,
    }),
  );
  app.route("/", createMetricsRoutes(deps.ops?.metricsToken));

  mountDocs(app, { title: "Cosmic Loop API", version: "0.1.0" });
  return app;
}

export type App = ReturnType<typeof buildApp>;
