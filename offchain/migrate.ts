/**
 * Versioned SQL migrations of the `offchain` schema: files `migrations/NNNN_name.sql`, applied in
 * order, each in the same transaction as its row in `offchain.schema_migrations`. A transaction-level
 * advisory lock serialises replicas starting together; an edited applied file is refused.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CosmicError } from "../infra/errors.js";

export type Migration = { version: number; name: string; sql: string; checksum: string };

/** Runs `fn` inside one transaction; `query` executes (possibly multi-statement) SQL. */
export type MigrationExecutor = <T>(fn: (query: (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>) => Promise<T>) => Promise<T>;

export class MigrationError extends CosmicError {
  override name = "MigrationError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("internal", "MIGRATION_FAILED", message, options);
  }
}

/** Arbitrary constant: pg_advisory_xact_lock key of the off-chain migrations. */
export const MIGRATION_LOCK_KEY = 7_202_611_250_001;

export const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((file) => {
      const match = /^(\d{4})_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new MigrationError(`migration file name must be NNNN_name.sql: ${file}`);
      const sql = readFileSync(`${dir}/${file}`, "utf8");
      return { version: Number(match[1]), name: match[2]!, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migration versions must be 1..n without gaps (found ${m.version} at position ${i + 1})`);
  });
  return migrations;
}

/** Applies pending migrations; returns the versions applied by this call. */
export async function runMigrations(transaction: MigrationExecutor, migrations = loadMigrations()): Promise<number[]> {
  return await transaction(async (query) => {
    await query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await query(`CREATE SCHEMA IF NOT EXISTS offchain`);
    await query(`CREATE TABLE IF NOT EXISTS offchain.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await query(`SELECT version, checksum FROM offchain.schema_migrations ORDER BY version`);
    const applied = new Map(rows.map((r) => [Number(r.version), String(r.checksum)]));
    for (const [version, checksum] of applied) {
      const known = migrations.find((m) => m.version === version);
      if (!known) throw new MigrationError(`database has migration ${version}, unknown to this build (newer deployment?)`);
      if (known.checksum !== checksum) throw new MigrationError(`migration ${version}_${known.name} was edited after being applied`);
    }
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await query(m.sql);
      await query(`INSERT INTO offchain.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
      done.push(m.version);
    }
    return done;
  });
}
