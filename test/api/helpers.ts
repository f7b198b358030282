/** Test harness: a fresh Postgres database, a Redis key prefix (or in-process), an app built on them. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import type { Hex } from "viem";
import { createSiweMessage } from "viem/siwe";
import { type AppDependencies, buildApp } from "../../api/app.js";
import { JwtKeys } from "../../domain/auth/jwt.js";
import { createChainVerifiers } from "../../app/deps.js";
import { loadConfig } from "../../infra/config/index.js";
import { createLogger } from "../../infra/logger.js";
import { MemoryKeyValueStore, RedisKeyValueStore, type KeyValueStore } from "../../infra/redis.js";
import { createOffchainStore, type OffchainStore } from "../../offchain/store.js";

/** The server URL; a user name is filled in when absent (pg needs one; psql defaults to the OS user). */
export const PG_URL = (() => {
  const url = new URL(process.env.TEST_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test");
  if (!url.username) url.username = process.env.PGUSER || os.userInfo().username;
  return url.toString();
})();
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const SIWE_DOMAIN = "app.cosmic.test";
export const SIWE_URI = "https://app.cosmic.test/login";

const suffix = () => `${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;

/** A database of its own (dropped by `drop`), so the real `offchain` schema name is used. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `cosmic_test_${suffix()}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export type KvMode = "redis" | "memory";

export function createTestKv(mode: KvMode): { kv: KeyValueStore; cleanup(): Promise<void> } {
  if (mode === "memory") {
    const kv = new MemoryKeyValueStore("test:");
    return { kv, cleanup: () => kv.close() };
  }
  const kv = new RedisKeyValueStore(REDIS_URL, `test:${suffix()}:`);
  return {
    kv,
    async cleanup() {
      await kv.deleteAllWithPrefix();
      await kv.close();
    },
  };
}

/** Collects log lines in memory (to assert on them, e.g. that no secret is logged). */
export function logCollector() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

export type TestApp = {
  app: ReturnType<typeof buildApp>;
  deps: AppDependencies;
  logs: string[];
  close(): Promise<void>;
};

export async function createTestApp(options: {
  kv: KvMode;
  chains?: { chainId: number; rpcUrl: string }[];
  env?: Record<string, string>;
  store?: "postgres" | "pglite";
}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-api-test-"));
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  try {
    db = options.store === "pglite" ? undefined : await createTestDatabase();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    AUTH_SIWE_DOMAIN: SIWE_DOMAIN,
    AUTH_SIWE_URI: SIWE_URI,
    AUTH_RATE_LIMIT_PER_IP: "100000",
    AUTH_RATE_LIMIT_PER_ADDRESS: "100000",
    ...Object.fromEntries((options.chains ?? []).map((c) => [`PONDER_RPC_URL_${c.chainId}`, c.rpcUrl])),
    ...options.env,
  };
  const config = loadConfig(env);
  const store: OffchainStore = db
    ? createOffchainStore({ databaseUrl: db.url, poolSize: 4 })
    : createOffchainStore({ dataDir: path.join(dataDir, "offchain") });
  await store.migrate();
  const { kv, cleanup } = createTestKv(options.kv);
  const collected = logCollector();
  const logger = createLogger({ level: "debug", destination: collected.destination });
  const keys = await JwtKeys.fromPrivateJwks([await JwtKeys.generatePrivateJwk()], {
    issuer: config.auth.jwtIssuer,
    audience: config.auth.jwtAudience,
    ttlSeconds: config.auth.accessTokenTtlSeconds,
  });
  const deps: AppDependencies = { config, store, kv, logger, keys, verifiers: createChainVerifiers(config) };
  return {
    app: buildApp(deps),
    deps,
    logs: collected.lines,
    async close() {
      await store.close();
      await cleanup();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function siweMessage(fields: {
  address: Hex;
  nonce: string;
  chainId: number;
  domain?: string;
  uri?: string;
  issuedAt?: Date;
  expirationTime?: Date;
  notBefore?: Date;
}): string {
  return createSiweMessage({
    domain: fields.domain ?? SIWE_DOMAIN,
    uri: fields.uri ?? SIWE_URI,
    version: "1",
    statement: "Sign in to Cosmic Loop",
    address: fields.address,
    chainId: fields.chainId,
    nonce: fields.nonce,
    issuedAt: fields.issuedAt ?? new Date(),
    ...(fields.expirationTime ? { expirationTime: fields.expirationTime } : {}),
    ...(fields.notBefore ? { notBefore: fields.notBefore } : {}),
  });
}

export const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
