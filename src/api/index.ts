/**
 * Ponder's HTTP app: SQL-over-HTTP (/sql/*, guarded) and the REST app of api/, which serves
 * /graphql (and / for GraphiQL) — the seed's schema merged with the generated index schema — and
 * the indexer's derived reads (/indexer/*), under the same rate limits as every other route.
 * `db` is read-only: nothing here writes.
 */
import { db } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { client } from "ponder";
import { limitBody } from "../../api/http/bodyLimit.js";
import { graphqlRateLimit } from "../../api/http/ratelimit.js";
import { sqlOverHttpGuard } from "../../api/http/sqlGuard.js";
import { createProductionApp } from "../../app/deps.js";
import { type IndexedDatabase, ponderIndexedDb } from "../../read/db.js";
import { type IndexCommits, type PgliteNotifications, listenForCommits, pgliteCommits } from "../../read/commits.js";
import { startRealtime } from "../../realtime/service.js";
import { readServerEnv } from "../../infra/config/index.js";

// The REST app of api/ (auth, users, nfts, bridge, events, jobs, health) and everything it depends
// on, built once per process by the composition root: `ponder dev` re-evaluates this module on
// reload, and a second off-chain store / job queue on the same PGlite folder or queue would fight
// the first one. It reads the index through Ponder's `db`; with the commit notifications the job
// workers' ERC-4906 follower wakes on each commit.
const restKey = Symbol.for("cosmic-loop.rest-app");
const holder = globalThis as unknown as Record<symbol, ReturnType<typeof createProductionApp> | undefined>;
holder[restKey] ??= createProductionApp(process.env, { indexed: ponderIndexedDb(db, indexCommits()) });
const rest = await holder[restKey]!;
const { config, ops, kv } = rest.deps;

const app = new Hono();

// Per-IP rate limit of /sql/* (RATE_LIMIT_GRAPHQL_PER_IP per RATE_LIMIT_WINDOW_SECONDS; /graphql has
// the same budget in the REST app), in the REST app's key-value store.
const routeLimit = graphqlRateLimit(kv, ops, config.trustProxy);
// Ponder parses any body size: a real query is a few KiB, so anything over 512 KiB is refused early,
// the excess drained so the client's kept-alive socket stays usable (api/http/bodyLimit.ts, shared with REST).
const sizeLimit = limitBody({ maxBytes: 512 * 1024, message: "request body exceeds 512 KiB" });
for (const path of ["/graphql", "/", "/sql/*"]) {
  app.use(path, sizeLimit);
}

app.use("/sql/*", routeLimit);
app.use("/sql/*", sqlOverHttpGuard({ db: db as unknown as IndexedDatabase, dialect: config.databaseUrl ? "postgres" : "pglite", settings: ops.sqlOverHttp }));
app.use("/sql/*", client({ db, schema }));

// ----------------------------------------------------------------- domain routes (api/)
app.route("/", rest.app);

// `npm run dev` sets REALTIME_IN_PROCESS=1: the WebSocket service (and its notifier) runs in this
// process and reads the index through Ponder's `db` — the only way on the embedded PGlite, which no
// other process can open. Production runs it as a companion process (`npm run realtime`).
if (ops.realtime.inProcess) {
  const realtimeKey = Symbol.for("cosmic.realtime");
  const realtime = globalThis as unknown as Record<symbol, Promise<unknown> | undefined>;
  realtime[realtimeKey] ??= startRealtime({
    ...rest.deps,
    auth: rest.deps.auth,
    indexed: rest.deps.indexed,
    ops,
    trustProxy: rest.deps.config.trustProxy,
  });
  await realtime[realtimeKey];
}

/**
 * Ponder's commit notifications in this process. Ponder does not export its database handle or
 * schema name, so this reads the globals its own `client()` middleware reads (PONDER_DATABASE,
 * PONDER_NAMESPACE_BUILD); if a Ponder upgrade moves them, the notifier and tracker poll instead.
 */
function indexCommits(): IndexCommits | undefined {
  const g = globalThis as unknown as {
    PONDER_DATABASE?: { driver?: { dialect?: string; instance?: PgliteNotifications } };
    PONDER_NAMESPACE_BUILD?: { schema?: string };
  };
  const schema = g.PONDER_NAMESPACE_BUILD?.schema;
  const driver = g.PONDER_DATABASE?.driver;
  if (!schema || !driver) return undefined;
  if (driver.dialect === "pglite" && driver.instance) return pgliteCommits(driver.instance, schema);
  const databaseUrl = readServerEnv(process.env).DATABASE_URL;
  if (driver.dialect === "postgres" && databaseUrl) return listenForCommits({ databaseUrl, schema });
  return undefined;
}

export default app;
