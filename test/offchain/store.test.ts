/**
 * The off-chain store: versioned migrations (idempotent, locked against concurrent replicas, edits
 * refused), PGlite persistence, and off-chain rows surviving a Ponder re-index.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMigrations, MigrationError, runMigrations } from "../../offchain/migrate.js";
import { users } from "../../offchain/schema.js";
import { createPgliteStore, createPostgresStore } from "../../offchain/store.js";
import { createTestDatabase } from "../api/helpers.js";

describe("off-chain store on Postgres", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("replicas migrating at once: one applies, the other waits on the lock and finds nothing to do", async () => {
    const stores = [createPostgresStore(db.url, 2), createPostgresStore(db.url, 2), createPostgresStore(db.url, 2)];
    try {
      const applied = await Promise.all(stores.map((s) => s.migrate()));
      const all = loadMigrations().map((m) => m.version);
      expect(applied.filter((a) => a.length > 0)).toEqual([all]);
      expect(await stores[0]!.migrate()).toEqual([]);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'offchain' ORDER BY 1");
      await client.end();
      // Every migration's tables exist exactly once (auth's are listed to catch a migration that was skipped).
      const names = rows.map((r) => r.table_name as string);
      expect(names).toEqual(expect.arrayContaining(["api_keys", "audit_log", "refresh_tokens", "schema_migrations", "sessions", "users"]));
      expect(new Set(names).size).toBe(names.length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("refuses an applied migration that was edited, or one unknown to this build", async () => {
    const store = createPostgresStore(db.url, 1);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const exec = async <T>(fn: (q: (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>) => Promise<T>) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const r = await fn((sql, params) => client.query(sql, params));
        await client.query("COMMIT");
        return r;
      } catch (e) {
        await client.query("ROLLBACK");
        throw e;
      } finally {
        client.release();
      }
    };
    try {
      await store.migrate();
      const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "edited" } : m));
      await expect(runMigrations(exec, edited)).rejects.toThrow(MigrationError);
      await expect(runMigrations(exec, [])).rejects.toThrow(/unknown to this build/);
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it("off-chain rows survive a Ponder re-index (Ponder's schema dropped and rebuilt)", async () => {
    const store = createPostgresStore(db.url, 2);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await store.migrate();
      await store.db
        .insert(users)
        .values({ address: "0x00000000000000000000000000000000000000AA", roles: ["user", "organizer"], preferences: { theme: "dark" } });
      // What Ponder does on a new deployment / schema change: its own schema, its own tables, and
      // the RPC cache schema; then a full re-index drops and recreates them.
      for (const schema of ["ponder_v1", "public"]) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(`CREATE TABLE ${schema}.users (address text primary key, roles text[])`); // same table name on purpose
        await client.query(`CREATE TABLE ${schema}.token (id text primary key)`);
      }
      await client.query("CREATE SCHEMA ponder_sync");
      await client.query("DROP SCHEMA ponder_v1 CASCADE");
      await client.query("DROP SCHEMA ponder_sync CASCADE");
      await client.query("DROP TABLE public.users, public.token");
      await client.query("CREATE SCHEMA ponder_v2");
      await client.query("CREATE TABLE ponder_v2.token (id text primary key)");
      // A restart runs migrations again: nothing to do, rows intact.
      expect(await store.migrate()).toEqual([]);
      const [row] = await store.db.select().from(users).where(eq(users.address, "0x00000000000000000000000000000000000000AA"));
      expect(row).toMatchObject({ roles: ["user", "organizer"], preferences: { theme: "dark" } });
    } finally {
      await client.end();
      await store.close();
    }
  });
});

describe("off-chain store on PGlite (no DATABASE_URL)", () => {
  it("migrates once and keeps its rows across restarts in the data folder", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cosmic-offchain-"));
    try {
      const first = createPgliteStore(path.join(dir, "offchain"));
      expect(await first.migrate()).toEqual(loadMigrations().map((m) => m.version));
      await first.db.insert(users).values({ address: "0x00000000000000000000000000000000000000BB", roles: ["user"], preferences: {} });
      await first.close();
      const second = createPgliteStore(path.join(dir, "offchain"));
      expect(await second.migrate()).toEqual([]);
      expect(await second.db.select().from(users)).toHaveLength(1);
      expect(await second.ping()).toBe(true);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
