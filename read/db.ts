/**
 * Read access to the indexed (onchain) tables for our routes. Inside Ponder's process this is the
 * `db` of "ponder:api" (read-only; on PGlite the only way in). An API replica or a test reads the
 * same tables from Postgres through its own read-only pool whose search_path is the Ponder schema
 * (the `--schema` of `ponder start`, or its `--views-schema`).
 */
import { drizzle } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import pg from "pg";
import * as ponderSchema from "../ponder.schema.js";
import { type IndexCommits, listenForCommits } from "./commits.js";

export const indexedTables = ponderSchema;

export type IndexedDatabase = PgDatabase<PgQueryResultHKT, typeof ponderSchema>;

export type IndexedDb = {
  db: IndexedDatabase;
  /** Postgres schema holding the tables (undefined when served by Ponder's own `db`). */
  schema?: string;
  /** Ponder's commit notifications for these tables, when they can be listened to. */
  commits?: IndexCommits;
  close(): Promise<void>;
};

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A read-only pool on `schema` of `databaseUrl` (every transaction READ ONLY, search_path pinned). */
export function connectIndexedDb(options: { databaseUrl: string; schema: string; max?: number }): IndexedDb {
  if (!SCHEMA_NAME.test(options.schema)) throw new Error(`invalid Ponder schema name "${options.schema}"`);
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    options: `-c search_path="${options.schema}" -c default_transaction_read_only=on`,
    // Postgres down: fail fast (→ 503) instead of waiting on the OS connect timeout.
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection (Postgres restarted) emits 'error' on the pool; unhandled,
  // it crashes the process. The pool drops that client; the next query reconnects or fails → 503.
  pool.on("error", () => {});
  // The LISTEN connection opens only when something subscribes (the notifier, the tracker).
  const commits = listenForCommits({ databaseUrl: options.databaseUrl, schema: options.schema });
  return {
    db: drizzle(pool, { schema: ponderSchema }) as unknown as IndexedDatabase,
    schema: options.schema,
    commits,
    close: async () => {
      await commits.close();
      await pool.end();
    },
  };
}

/** Wraps Ponder's own read-only `db` (from "ponder:api"), with its commit notifications if known. */
export function ponderIndexedDb(db: unknown, commits?: IndexCommits): IndexedDb {
  return { db: db as IndexedDatabase, ...(commits ? { commits } : {}), close: async () => {} };
}
