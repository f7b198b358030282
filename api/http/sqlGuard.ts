/**
 * Guard of Ponder's SQL-over-HTTP (`/sql/db`, `/sql/live`; security issue item 2). Ponder's
 * `client()` only checks that a statement is a read-only SELECT of allowed nodes (and functions),
 * then runs it: on Postgres for up to 30 s with 512 MB of work memory, on PGlite without any timeout
 * (PGlite, single-threaded WebAssembly, ignores statement_timeout: a 3-way cross join ran for
 * minutes in the process that serves REST). So, before Ponder sees a statement:
 *
 *  1. off unless enabled: SQL_OVER_HTTP (default off when NODE_ENV=production, on elsewhere);
 *  2. Ponder's own validator runs first, so a refused statement is a 400 with its reason (Ponder
 *     answers those with a 500 text body);
 *  3. at most SQL_MAX_RELATIONS table references (FROM items, joins, subqueries);
 *  4. the planner's estimate (EXPLAIN, no execution) must stay under SQL_MAX_PLAN_ROWS rows at
 *     every plan node: the bound that holds on PGlite, where nothing can interrupt a running query;
 *  5. on Postgres, `/sql/db` statements run here (Ponder's read-only transaction, same result
 *     shape) with `SET LOCAL statement_timeout = SQL_STATEMENT_TIMEOUT_MS`. `/sql/live` stays
 *     Ponder's (its re-runs are bounded by 3 and 4, and its pool's 30 s timeout).
 *
 * Statements are read from the `sql` query parameter as @ponder/client sends them (superjson of
 * `{ sql, params }`). Parsing and validation are Ponder's (its published dist, as for GraphQL).
 */
import { sql as rawSql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import superjson from "superjson";
import type { OpsConfig } from "../../infra/config/ops.js";
import type { IndexedDatabase } from "../../read/db.js";
import { loadPonderDist } from "../graphql/lib.js";
import { isDependencyError } from "./errors.js";

type SqlParse = { parseSQLQuery(sql: string): Promise<unknown>; validateAllowableSQLQuery(sql: string): Promise<void> };
let loaded: SqlParse | undefined;
const sqlParse = async () => (loaded ??= loadPonderDist<SqlParse>("utils/sql-parse.js"));

type Query = { sql: string; params: unknown[] };
type Session = { prepareQuery(q: { sql: string; params: unknown[] }, fields: undefined, name: undefined, arrayMode: boolean): { execute(): Promise<unknown> } };
const sessionOf = (db: unknown) => (db as { _: { session: Session } })._.session;

const refuse = (status: 400 | 404 | 422 | 503, code: string, message: string) => Response.json({ error: { code, message } }, { status });

/** Table references (RangeVar nodes) anywhere in a parsed statement. */
export function countRelations(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, child) => n + countRelations(child), 0);
  if (!node || typeof node !== "object") return 0;
  let n = 0;
  for (const [key, value] of Object.entries(node)) n += (key === "RangeVar" ? 1 : 0) + countRelations(value);
  return n;
}

/** The largest row estimate of any node of an EXPLAIN (FORMAT JSON) plan. */
export function maxPlanRows(plan: unknown): number {
  if (Array.isArray(plan)) return plan.reduce((m: number, p) => Math.max(m, maxPlanRows(p)), 0);
  if (!plan || typeof plan !== "object") return 0;
  const node = plan as { "Plan Rows"?: number; Plan?: unknown; Plans?: unknown[] };
  return Math.max(node["Plan Rows"] ?? 0, maxPlanRows(node.Plan), maxPlanRows(node.Plans ?? []));
}

function readQuery(raw: string | undefined): Query | undefined {
  if (raw === undefined || raw.length > 20_000) return undefined;
  try {
    const q = superjson.parse<Query>(raw);
    return q && typeof q.sql === "string" && (q.params === undefined || Array.isArray(q.params)) ? { sql: q.sql, params: q.params ?? [] } : undefined;
  } catch {
    return undefined;
  }
}

const rowsOf = (result: unknown): Record<string, unknown>[] => (Array.isArray(result) ? result : ((result as { rows?: Record<string, unknown>[] }).rows ?? []));

export function sqlOverHttpGuard(options: { db: IndexedDatabase; dialect: "pglite" | "postgres"; settings: OpsConfig["sqlOverHttp"] }): MiddlewareHandler {
  const { db, dialect, settings } = options;
  return async (c, next) => {
    if (!settings.enabled) return refuse(404, "SQL_OVER_HTTP_DISABLED", "SQL over HTTP is disabled on this server (SQL_OVER_HTTP=on enables it)");
    if (c.req.path !== "/sql/db" && c.req.path !== "/sql/live") return await next();
    const query = readQuery(c.req.query("sql"));
    if (!query) return refuse(400, "INVALID_SQL_REQUEST", 'expected a "sql" query parameter: superjson of { sql, params } as @ponder/client sends it');
    if (query.sql.length > 5000) return refuse(400, "SQL_NOT_ALLOWED", "statement longer than 5000 characters");
    const parse = await sqlParse();
    let tree: unknown;
    try {
      await parse.validateAllowableSQLQuery(query.sql);
      tree = await parse.parseSQLQuery(query.sql);
    } catch (error) {
      return refuse(400, "SQL_NOT_ALLOWED", String((error as Error).message ?? error).slice(0, 300));
    }
    const relations = countRelations(tree);
    if (relations > settings.maxRelations)
      return refuse(422, "SQL_TOO_MANY_RELATIONS", `the statement references ${relations} relations; at most ${settings.maxRelations} are allowed`);
    let estimate: number;
    try {
      const plan = rowsOf(
        await sessionOf(db)
          .prepareQuery({ sql: `EXPLAIN (FORMAT JSON) ${query.sql}`, params: query.params }, undefined, undefined, false)
          .execute(),
      );
      estimate = maxPlanRows(plan.map((r) => r["QUERY PLAN"]));
    } catch (error) {
      return refuse(400, "SQL_INVALID", String((error as Error).message ?? error).slice(0, 300));
    }
    if (estimate > settings.maxPlanRows)
      return refuse(422, "SQL_TOO_COSTLY", `the planner estimates ${Math.round(estimate)} rows at one step; at most ${settings.maxPlanRows} are allowed`);
    if (dialect === "postgres" && c.req.path === "/sql/db") {
      const pg = db as unknown as { transaction<T>(fn: (tx: IndexedDatabase) => Promise<T>, config: { accessMode: "read only" }): Promise<T> };
      try {
        const result = await pg.transaction(
          async (tx) => {
            await tx.execute(rawSql.raw(`SET LOCAL statement_timeout = ${settings.statementTimeoutMs}`));
            return await sessionOf(tx).prepareQuery(query, undefined, undefined, false).execute();
          },
          { accessMode: "read only" },
        );
        return c.json(result as object);
      } catch (error) {
        const e = error as { code?: string; message?: string; cause?: { code?: string } };
        if ((e.code ?? e.cause?.code) === "57014") return refuse(422, "SQL_TIMEOUT", `the statement ran longer than ${settings.statementTimeoutMs} ms`);
        if (isDependencyError(error))
          return Response.json({ error: { code: "DEPENDENCY_UNAVAILABLE", message: "the database is unavailable, retry later" } }, { status: 503 });
        return refuse(400, "SQL_INVALID", String(e.message ?? error).slice(0, 300));
      }
    }
    return await next();
  };
}
