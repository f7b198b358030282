/**
 * Ponder's HTTP app: the generated GraphQL (/graphql, and / for GraphiQL), SQL-over-HTTP (/sql/*),
 * the indexer's derived reads (/indexer/*), and the domain routes of api/ (composed below).
 * `db` is read-only: nothing here writes.
 */
import { db } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { and, asc, client, desc, eq, graphql, gt, inArray } from "ponder";
import { type Address, isAddress } from "viem";
import { deriveLocation, joinBridge } from "../../indexer/omnichain.js";
import { limitBody } from "../../api/http/bodyLimit.js";
import { ponderRouteLimit } from "../../api/http/ponderGuards.js";
import { createProductionApp } from "../../api/deps.js";
import { ponderIndexedDb } from "../../api/indexed/db.js";
import { AuthService } from "../../api/auth/service.js";
import { startRealtime } from "../../realtime/service.js";
import { loadOpsConfig } from "../../infra/opsConfig.js";

const app = new Hono();

// Per-IP rate limit of the generated reads (RATE_LIMIT_GRAPHQL_PER_IP per RATE_LIMIT_WINDOW_SECONDS).
const routeLimit = ponderRouteLimit();
// Ponder parses any body size: a real query is a few KiB, so anything over 512 KiB is refused early,
// the excess drained so the client's kept-alive socket stays usable (api/http/bodyLimit.ts, shared with REST).
const sizeLimit = limitBody({ maxBytes: 512 * 1024, message: "request body exceeds 512 KiB" });
for (const path of ["/graphql", "/", "/sql/*"]) {
  app.use(path, routeLimit);
  app.use(path, sizeLimit);
}

app.use("/graphql", graphql({ db, schema }));
app.use("/", graphql({ db, schema }));
app.use("/sql/*", client({ db, schema }));

const json = (value: unknown) => JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
const error = (code: string, message: string) => ({ error: { code, message } });

function parseTokenId(raw: string): bigint | null {
  try {
    const id = BigInt(raw);
    return id >= 0n && id < 2n ** 256n ? id : null;
  } catch {
    return null;
  }
}

async function omnichainToken(collection: string, tokenId: bigint) {
  const [rows, sends] = await Promise.all([
    db.select().from(schema.token).where(and(eq(schema.token.collection, collection), eq(schema.token.tokenId, tokenId))),
    db.select().from(schema.bridgeSend).where(and(eq(schema.bridgeSend.collection, collection), eq(schema.bridgeSend.tokenId, tokenId))),
  ]);
  const receives = sends.length
    ? await db.select().from(schema.bridgeReceive).where(inArray(schema.bridgeReceive.guid, sends.map((s) => s.guid)))
    : [];
  return { ...deriveLocation(rows, sends, receives), bridges: sends.map((s) => joinBridge(s, receives.find((r) => r.guid === s.guid))) };
}

// ----------------------------------------------------------------- indexer reads (derived views)
/** One NFT across chains: where it lives now (or in flight between two chains), per-chain rows, bridges. */
app.get("/indexer/tokens/:collection/:tokenId", async (c) => {
  const tokenId = parseTokenId(c.req.param("tokenId"));
  if (tokenId === null) return c.json(error("INVALID_TOKEN_ID", "tokenId must be a decimal or 0x-hex uint256"), 400);
  const view = await omnichainToken(c.req.param("collection"), tokenId);
  if (view.chains.length === 0 && view.bridges.length === 0) return c.json(error("NOT_FOUND", "token not indexed"), 404);
  return c.json(json({ collection: c.req.param("collection"), tokenId, ...view }));
});

/** NFTs currently owned by an address (present on a chain), optionally on one chain (`?chain=<chainId>`). */
app.get("/indexer/owners/:address/tokens", async (c) => {
  const address = c.req.param("address");
  if (!isAddress(address, { strict: false })) return c.json(error("INVALID_ADDRESS", "not an address"), 400);
  const chain = c.req.query("chain");
  const chainId = chain === undefined ? undefined : Number(chain);
  if (chainId !== undefined && !Number.isInteger(chainId)) return c.json(error("INVALID_CHAIN", "chain must be a chain id"), 400);
  const where = [eq(schema.token.owner, address.toLowerCase() as Address), eq(schema.token.state, "present")];
  if (chainId !== undefined) where.push(eq(schema.token.chainId, chainId));
  const rows = await db.select().from(schema.token).where(and(...where)).orderBy(asc(schema.token.collection), asc(schema.token.tokenId)).limit(1000);
  return c.json(json({ items: rows }));
});

/** One bridge by guid: both halves, status and end-to-end latency. */
app.get("/indexer/bridges/:guid", async (c) => {
  const guid = c.req.param("guid").toLowerCase() as `0x${string}`;
  const [sends, receives] = await Promise.all([
    db.select().from(schema.bridgeSend).where(eq(schema.bridgeSend.guid, guid)),
    db.select().from(schema.bridgeReceive).where(eq(schema.bridgeReceive.guid, guid)),
  ]);
  if (!sends.length && !receives.length) return c.json(error("NOT_FOUND", "unknown guid"), 404);
  return c.json(json(joinBridge(sends[0], receives[0])));
});

/** Activity feed after an order key (`?after=<orderKey>&limit=`), oldest first. */
app.get("/indexer/activity", async (c) => {
  const after = c.req.query("after");
  const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 200);
  const rows = await db
    .select()
    .from(schema.activity)
    .where(after ? gt(schema.activity.orderKey, after) : undefined)
    .orderBy(asc(schema.activity.orderKey))
    .limit(limit);
  return c.json(json({ items: rows, nextCursor: rows.length === limit ? rows.at(-1)!.orderKey : null }));
});

/** Per-chain supply of each collection. */
app.get("/indexer/collections", async (c) => {
  const [collections, deployments] = await Promise.all([
    db.select().from(schema.collection).orderBy(asc(schema.collection.slug)),
    db.select().from(schema.collectionDeployment).orderBy(asc(schema.collectionDeployment.chainId), desc(schema.collectionDeployment.address)),
  ]);
  return c.json(json({ items: collections.map((col) => ({ ...col, deployments: deployments.filter((d) => d.collection === col.slug) })) }));
});

// ----------------------------------------------------------------- domain routes (api/)
// The REST app of api/ (auth, users, nfts, bridge, events, jobs, health). Built once per process:
// `ponder dev` re-evaluates this module on reload, and a second off-chain store / job queue on the
// same PGlite folder or queue would fight the first one. It reads the index through Ponder's `db`.
const restKey = Symbol.for("cosmic-loop.rest-app");
const holder = globalThis as unknown as Record<symbol, ReturnType<typeof createProductionApp> | undefined>;
holder[restKey] ??= createProductionApp(process.env, { indexed: ponderIndexedDb(db) });
const rest = await holder[restKey]!;
app.route("/", rest.app);

// `npm run dev` sets REALTIME_IN_PROCESS=1: the WebSocket service (and its notifier) runs in this
// process and reads the index through Ponder's `db` — the only way on the embedded PGlite, which no
// other process can open. Production runs it as a companion process (`npm run realtime`).
if (process.env.REALTIME_IN_PROCESS === "1") {
  const realtimeKey = Symbol.for("cosmic.realtime");
  const realtime = globalThis as unknown as Record<symbol, Promise<unknown> | undefined>;
  realtime[realtimeKey] ??= startRealtime({ ...rest.deps, auth: new AuthService(rest.deps), indexed: ponderIndexedDb(db), ops: rest.deps.ops ?? loadOpsConfig(process.env), trustProxy: rest.deps.config.trustProxy });
  await realtime[realtimeKey];
}

export default app;
