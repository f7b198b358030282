/**
 * Production dependencies from the environment: Postgres pool or PGlite, Redis or in-process,
 * pino, JWT keys, one viem public client per configured chain. Used by Ponder's src/api/index.ts
 * and by the standalone server (api/main.ts).
 */
import { createPublicClient, http } from "viem";
import { type Config, loadConfig } from "../infra/config.js";
import { createLogger, type Logger } from "../infra/logger.js";
import { createKeyValueStore, type KeyValueStore } from "../infra/redis.js";
import { createOffchainStore, type OffchainStore } from "../offchain/store.js";
import { type AppDependencies, buildApp } from "./app.js";
import { JwtKeys } from "./auth/jwt.js";
import type { ChainVerifiers, SignatureVerifier } from "./auth/siwe.js";

export function createChainVerifiers(config: Pick<Config, "chains">): ChainVerifiers {
  return new Map(
    config.chains.map((chain) => [
      chain.chainId,
      createPublicClient({ transport: http(chain.rpcUrl, { timeout: 10_000, retryCount: 1 }) }) as unknown as SignatureVerifier,
    ]),
  );
}

export async function createDependencies(env: NodeJS.ProcessEnv = process.env, logger?: Logger): Promise<AppDependencies & { close(): Promise<void> }> {
  const config = loadConfig(env);
  const log = logger ?? createLogger({ level: config.logLevel });
  let store: OffchainStore | undefined;
  let kv: KeyValueStore | undefined;
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
      (file, created) => log.warn({ file }, created ? "no AUTH_JWT_KEYS: generated a development signing key" : "no AUTH_JWT_KEYS: using the development signing key"),
    );
    if (config.chains.length === 0) log.warn("no PONDER_RPC_URL_<chainId>: SIWE logins will be refused (no chain configured)");
    const s = store;
    const k = kv;
    return {
      config,
      store: s,
      kv: k,
      logger: log,
      keys,
      verifiers: createChainVerifiers(config),
      async close() {
        await Promise.allSettled([s.close(), k.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([store?.close(), kv?.close()]);
    throw error;
  }
}

/** The app with production dependencies (Ponder: `app.route("/", (await createProductionApp()).app)`). */
export async function createProductionApp(env: NodeJS.ProcessEnv = process.env) {
  const deps = await createDependencies(env);
  return { app: buildApp(deps), deps, close: deps.close };
}
