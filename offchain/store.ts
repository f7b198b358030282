/**
 * The off-chain store: its own pool on DATABASE_URL (schema `offchain`, never Ponder's schema), or a
 * PGlite database of its own in a data folder when there is no DATABASE_URL.
 */
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { type MigrationExecutor, runMigrations } from "./migrate.js";
import { schema } from "./schema.js";
import { assertPgliteDataDir } from "../infra/pgliteDataDir.js";

export type OffchainDb = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface OffchainStore {
  readonly kind: "postgres" | "pglite";
  readonly db: OffchainDb;
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export type StoreOptions = { databaseUrl: string; poolSize?: number } | { dataDir: string } | { memory: true };

export function createPostgresStore(databaseUrl: string, poolSize = 10): OffchainStore {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5_000, application_name: "cosmic-offchain" });
  // An idle client losing its connection must not crash the process; queries then fail → 503.
  pool.on("error", () => {});
  // The pool listens for errors only on idle clients: a client checked out for a transaction
  // (between two of its queries) whose connection dies emits 'error' with no listener — an uncaught
  // exception that kills the process (seen with a Postgres restart under traffic). Its next query
  // fails instead ("not queryable" → 503) and the pool discards it on release.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  const db = drizzlePg(pool, { schema }) as unknown as OffchainDb;
  const transaction: MigrationExecutor = async (fn) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn(async (sql, params) => (params ? await client.query(sql, params) : await client.query(sql)));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
  let closed = false;
  return {
    kind: "postgres",
    db,
    migrate: () => runMigrations(transaction),
    async ping() {
      try {
        await pool.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

export function createPgliteStore(dataDir: string | undefined): OffchainStore {
  assertPgliteDataDir(dataDir, "OFFCHAIN_DATA_DIR");
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  const db = drizzlePglite(client, { schema }) as unknown as OffchainDb;
  const transaction: MigrationExecutor = async <T>(fn: Parameters<MigrationExecutor>[0]) =>
    (await client.transaction(async (tx) =>
      fn(async (sql, params) => {
        if (params) return (await tx.query(sql, params)) as { rows: Record<string, unknown>[] };
        const results = await tx.exec(sql);
        return { rows: (results.at(-1)?.rows ?? []) as Record<string, unknown>[] };
      }),
    )) as T;
  return {
    kind: "pglite",
    db,
    migrate: () => runMigrations(transaction),
    async ping() {
      try {
        await client.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}

export function createOffchainStore(options: StoreOptions): OffchainStore {
  if ("databaseUrl" in options) return createPostgresStore(options.databaseUrl, options.poolSize);
  return createPgliteStore("dataDir" in options ? options.dataDir : undefined);
}
