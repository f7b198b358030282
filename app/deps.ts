/**
 * Production dependencies from the environment: Postgres pool or PGlite, Redis or in-process,
 * pino, JWT keys, one viem public client per configured chain. Used by Ponder's src/api/index.ts
 * and by the standalone server (api/main.ts).
 */
import type { Hex } from "viem";
import { createServerSigners, type ServerSigners } from "../chain/serverSigners.js";
import { readDeployments } from "../chain/deployments.js";
import { connectIndexedDb, type IndexedDb } from "../read/db.js";
import { type IndexerSetup, IndexerConfigError, loadIndexerSetup } from "../indexer/setup.js";
import { type Config, loadConfig } from "../infra/config/index.js";
import { secretsOfEnv } from "../infra/config/secrets.js";
import { createLogger, type Logger, registerSecrets } from "../infra/logger.js";
import { loadOpsConfig, type OpsConfig } from "../infra/config/ops.js";
import { createKeyValueStore, type KeyValueStore } from "../infra/redis.js";
import { createOffchainStore, type OffchainStore } from "../offchain/store.js";
import { startJobQueue } from "../jobs/index.js";
import type { JobQueue } from "../jobs/types.js";
import { type AppDependencies, buildApp } from "../api/app.js";
import { JwtKeys } from "../domain/auth/jwt.js";
import { AuthService } from "../domain/auth/service.js";
import { loadBridgeSettings } from "../infra/config/bridge.js";
import { readIndexerEnv } from "../infra/config/indexer.js";
import { loadNftSettings } from "../infra/config/nfts.js";
import type { ChainVerifiers, SignatureVerifier } from "../domain/auth/siwe.js";
import { createReadClient } from "../chain/readClient.js";

export function createChainVerifiers(config: Pick<Config, "chains">): ChainVerifiers {
  return new Map(
    config.chains.map((chain) => [chain.chainId, createReadClient(chain.rpcUrl, { timeoutMs: 10_000, retryCount: 1 }) as unknown as SignatureVerifier]),
  );
}

/**
 * The network the API serves: the indexer's setup (devnet deployments file, or PONDER_NETWORK env).
 * On the devnet a missing deployments file only disables chain features (auth still works).
 */
export function loadNetwork(env: NodeJS.ProcessEnv, log: Logger): IndexerSetup | undefined {
  try {
    return loadIndexerSetup(env);
  } catch (error) {
    if (error instanceof IndexerConfigError && error.network === "devnet") {
      log.warn({ reason: error.message }, "no devnet deployments: chain features (mint, bridge) are disabled");
      return undefined;
    }
    throw error;
  }
}

/** Minter key: MINTER_PRIVATE_KEY, or on the devnet its funded deployer account (a public test key). */
export function createSigners(env: NodeJS.ProcessEnv, config: Config, network: IndexerSetup | undefined, log: Logger): ServerSigners | undefined {
  if (!network) return undefined;
  let privateKey: Hex | undefined = config.minterPrivateKey;
  if (!privateKey && network.mode === "devnet") privateKey = readDeployments(readIndexerEnv(env).deploymentsFile).accounts[0]?.privateKey as Hex | undefined;
  if (!privateKey) {
    log.warn("no MINTER_PRIVATE_KEY: minting and distributions are disabled");
    return undefined;
  }
  return createServerSigners({ chains: network.chains, privateKey, pollingInterval: network.mode === "devnet" ? 50 : 1000 });
}

/**
 * Indexed tables for an API process outside Ponder (a replica, the realtime companion): a read-only
 * pool on INDEXED_SCHEMA (the views schema in production) or DATABASE_SCHEMA. Inside Ponder,
 * src/api/index.ts passes Ponder's own `db` instead.
 */
function indexedFromEnv(databaseUrl: string | undefined, schema: string | undefined): IndexedDb | undefined {
  if (!databaseUrl || !schema) return undefined;
  return connectIndexedDb({ databaseUrl, schema });
}

export async function createDependencies(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
  overrides: { indexed?: IndexedDb } = {},
): Promise<AppDependencies & { ops: OpsConfig; auth: AuthService; close(): Promise<void> }> {
  // Before anything can log: configured secrets are scrubbed from every line (infra/logger.ts).
  registerSecrets(secretsOfEnv(env));
  const loaded = loadConfig(env);
  const ops = loadOpsConfig(env);
  const log = logger ?? createLogger({ level: loaded.logLevel });
  const network = loadNetwork(env, log);
  // Sign-in accepts the chains we index unless PONDER_RPC_URL_<chainId> lists others explicitly.
  const config = loaded.chains.length === 0 && network ? { ...loaded, chains: network.chains.map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl })) } : loaded;
  const signers = createSigners(env, loaded, network, log);
  const indexed = overrides.indexed ?? indexedFromEnv(loaded.databaseUrl, ops.indexedSchema);
  let store: OffchainStore | undefined;
  let kv: KeyValueStore | undefined;
  let jobs: JobQueue | undefined;
  try {
    store = createOffchainStore(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: config.offchainDataDir });
    const applied = await store.migrate();
    log.info(
      { store: store.kind, ...(store.kind === "pglite" ? { dataDir: config.offchainDataDir } : {}), migrationsApplied: applied },
      store.kind === "pglite" ? "off-chain store: PGlite (no DATABASE_URL)" : "off-chain store: Postgres schema offchain",
    );
    kv = createKeyValueStore(config.redisUrl, config.redisPrefix);
    if (kv.kind === "memory") log.warn("no REDIS_URL: in-process cache/nonces/rate limits/pub-sub, valid for a single process only");
    else log.info("key-value store: Redis");
    const keys = await JwtKeys.load(
      config.auth.jwtKeys,
      config.dataDir,
      { issuer: config.auth.jwtIssuer, audience: config.auth.jwtAudience, ttlSeconds: config.auth.accessTokenTtlSeconds },
      (file, created) =>
        log.warn({ file }, created ? "no AUTH_JWT_KEYS: generated a development signing key" : "no AUTH_JWT_KEYS: using the development signing key"),
    );
    if (config.chains.length === 0) log.warn("no PONDER_RPC_URL_<chainId>: SIWE logins will be refused (no chain configured)");
    const s = store;
    const k = kv;
    // Job queue (BullMQ on REDIS_URL, else in-process); its workers run here unless JOBS_WORKER=0.
    const nft = loadNftSettings(env, config.dataDir);
    const bridge = loadBridgeSettings(env);
    jobs = await startJobQueue({ config, store: s, kv: k, logger: log, network, signers, indexed, nft, bridge });
    const j = jobs;
    const built: AppDependencies & { ops: OpsConfig } = {
      config,
      store: s,
      kv: k,
      logger: log,
      keys,
      verifiers: createChainVerifiers(config),
      network,
      signers,
      indexed,
      nft,
      bridge,
      jobs: j,
      ops,
    };
    return {
      ...built,
      // One auth service per process: the REST app, Ponder's realtime and the companion share it.
      auth: new AuthService(built),
      async close() {
        await j.close();
        await Promise.allSettled([s.close(), k.close(), overrides.indexed ? undefined : indexed?.close()]);
      },
    };
  } catch (error) {
    await jobs?.close();
    await Promise.allSettled([store?.close(), kv?.close()]);
    throw error;
  }
}

/** The app with production dependencies (Ponder: `app.route("/", (await createProductionApp()).app)`). */
export async function createProductionApp(env: NodeJS.ProcessEnv = process.env, overrides: { indexed?: IndexedDb } = {}) {
  const deps = await createDependencies(env, undefined, overrides);
  return { app: buildApp(deps), deps, close: deps.close };
}
