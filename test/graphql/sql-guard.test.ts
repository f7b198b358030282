/**
 * The /sql/* guard (api/http/sqlGuard.ts) against real databases, Postgres and PGlite: off in
 * production unless enabled; Ponder's validator refusals as 400s; the relation bound; the planner
 * bound that stops a cross join before it runs (on PGlite nothing else could: it ignores
 * statement_timeout); the statement timeout on Postgres.
 */
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { Hono } from "hono";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlOverHttpGuard } from "../../api/http/sqlGuard.js";
import { type IndexedDatabase, connectIndexedDb, type IndexedDb } from "../../read/db.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { PG_URL } from "../api/helpers.js";

const SETTINGS = { enabled: true, statementTimeoutMs: 2_000, maxRelations: 3, maxPlanRows: 100_000 };
const schema = `sqlguard_${randomBytes(4).toString("hex")}`;
let indexed: IndexedDb;
let pglite: PGlite;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(
    `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.token (x int, owner text); INSERT INTO ${schema}.token SELECT g, 'o' || (g % 10) FROM generate_series(1, 2000) g; ANALYZE ${schema}.token`,
  );
  await admin.end();
  indexed = connectIndexedDb({ databaseUrl: PG_URL, schema, max: 2 });
  pglite = new PGlite();
  await pglite.exec("CREATE TABLE token (x int, owner text); INSERT INTO token SELECT g, 'o' || (g % 10) FROM generate_series(1, 2000) g");
});
afterAll(async () => {
  await indexed?.close();
  await pglite?.close();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** The guard in front of a stand-in for Ponder's client() middleware (answers "ponder"). */
function appFor(db: IndexedDatabase, dialect: "pglite" | "postgres", settings = SETTINGS) {
  const app = new Hono();
  app.use("/sql/*", sqlOverHttpGuard({ db, dialect, settings }));
  app.get("/sql/*", (c) => c.json({ servedBy: "ponder" }));
  return app;
}
const sqlParam = (sql: string, params: unknown[] = []) => encodeURIComponent(JSON.stringify({ json: { sql, params } }));
async function get(app: Hono, sql: string, path = "/sql/db") {
  const started = performance.now();
  const res = await app.request(`${path}?sql=${sqlParam(sql)}`);
  return { status: res.status, body: (await res.json()) as any, ms: performance.now() - started };
}
const CROSS_JOIN = "select count(*) from token a, token b, token c";

describe("SQL over HTTP guard", () => {
  it("is off in production unless SQL_OVER_HTTP=on, on elsewhere unless SQL_OVER_HTTP=off; off answers 404 with a code", async () => {
    expect(loadOpsConfig({ NODE_ENV: "production" }).sqlOverHttp.enabled).toBe(false);
    expect(loadOpsConfig({ NODE_ENV: "production", SQL_OVER_HTTP: "on" }).sqlOverHttp.enabled).toBe(true);
    expect(loadOpsConfig({}).sqlOverHttp.enabled).toBe(true);
    expect(loadOpsConfig({ SQL_OVER_HTTP: "off" }).sqlOverHttp.enabled).toBe(false);
    const off = await get(appFor(indexed.db, "postgres", { ...SETTINGS, enabled: false }), "select 1");
    expect([off.status, off.body.error.code]).toEqual([404, "SQL_OVER_HTTP_DISABLED"]);
  });

  for (const dialect of ["postgres", "pglite"] as const) {
    const dbOf = () => (dialect === "postgres" ? indexed.db : (drizzle(pglite) as unknown as IndexedDatabase));

    it(`${dialect}: a plain read passes; a 3-way cross join is refused by the planner bound before it runs, fast`, async () => {
      const app = appFor(dbOf(), dialect);
      const plain = await get(app, "select x, owner from token where x < $1 limit 5".replace("$1", "10"));
      expect(plain.status, JSON.stringify(plain.body)).toBe(200);
      if (dialect === "postgres")
        expect(plain.body.rows).toHaveLength(5); // executed here, under the statement timeout
      else expect(plain.body).toEqual({ servedBy: "ponder" }); // PGlite: Ponder's client() executes
      const cross = await get(app, CROSS_JOIN);
      expect([cross.status, cross.body.error.code]).toEqual([422, "SQL_TOO_COSTLY"]);
      expect(cross.ms).toBeLessThan(2_000);
      // Live queries are admitted the same way.
      expect((await get(app, CROSS_JOIN, "/sql/live")).body.error.code).toBe("SQL_TOO_COSTLY");
    });

    it(`${dialect}: too many relations, writes, functions outside Ponder's list and malformed requests are 4xx with codes`, async () => {
      const app = appFor(dbOf(), dialect);
      const many = await get(app, "select 1 from token a join token b on a.x = b.x join token c on c.x = a.x join token d on d.x = a.x");
      expect([many.status, many.body.error.code]).toEqual([422, "SQL_TOO_MANY_RELATIONS"]);
      const derived = await get(
        app,
        "select count(*) from (select a.x from token a join token b on a.x = b.x) s join token c on c.x = s.x join token d on d.x = s.x",
      );
      expect(derived.body.error.code).toBe("SQL_TOO_MANY_RELATIONS");
      expect((await get(app, "delete from token")).body.error.code).toBe("SQL_NOT_ALLOWED");
      expect((await get(app, "select pg_sleep(10)")).body.error.code).toBe("SQL_NOT_ALLOWED");
      expect((await get(app, "select * from nope")).body.error.code).toBe("SQL_INVALID");
      const garbage = await app.request("/sql/db?sql=%7Bnot");
      expect([garbage.status, ((await garbage.json()) as any).error.code]).toEqual([400, "INVALID_SQL_REQUEST"]);
    });
  }

  it("postgres: a statement running past SQL_STATEMENT_TIMEOUT_MS is cancelled (422 SQL_TIMEOUT)", async () => {
    const app = appFor(indexed.db, "postgres", { ...SETTINGS, maxPlanRows: Number.MAX_SAFE_INTEGER, statementTimeoutMs: 200 });
    const slow = await get(app, CROSS_JOIN);
    expect([slow.status, slow.body.error.code]).toEqual([422, "SQL_TIMEOUT"]);
    expect(slow.ms).toBeLessThan(3_000);
  });
});
