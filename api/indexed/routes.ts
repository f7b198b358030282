/**
 * The indexer's derived reads (`/indexer/*`, docs/indexer.md): one token across chains, an owner's
 * tokens, one bridge by guid, the activity feed, per-chain supply. Served by the REST app so they
 * get what every route gets (the global rate limit, request logs, metrics, the uniform errors);
 * before, src/api/index.ts served them beside the app, without any limit (security issue, item 7).
 */
import { and, asc, desc, eq, gt, inArray } from "drizzle-orm";
import { type Address, isAddress } from "viem";
import { deriveLocation, joinBridge } from "../../indexer/omnichain.js";
import { requireIndexed } from "../chains/clients.js";
import { badRequest, notFound } from "../http/errors.js";
import { createRouter } from "../http/openapi.js";
import { toJson } from "../nfts/ids.js";
import { type IndexedDatabase, indexedTables as t } from "./db.js";

function parseTokenId(raw: string): bigint | null {
  try {
    const id = BigInt(raw);
    return id >= 0n && id < 2n ** 256n ? id : null;
  } catch {
    return null;
  }
}

async function omnichainToken(db: IndexedDatabase, collection: string, tokenId: bigint) {
  const [rows, sends] = await Promise.all([
    db.select().from(t.token).where(and(eq(t.token.collection, collection), eq(t.token.tokenId, tokenId))),
    db.select().from(t.bridgeSend).where(and(eq(t.bridgeSend.collection, collection), eq(t.bridgeSend.tokenId, tokenId))),
  ]);
  const receives = sends.length ? await db.select().from(t.bridgeReceive).where(inArray(t.bridgeReceive.guid, sends.map((s) => s.guid))) : [];
  return { ...deriveLocation(rows, sends, receives), bridges: sends.map((s) => joinBridge(s, receives.find((r) => r.guid === s.guid))) };
}

export function createIndexerRoutes() {
  const app = createRouter();

  /** One NFT across chains: where it lives now (or in flight between two chains), per-chain rows, bridges. */
  app.get("/indexer/tokens/:collection/:tokenId", async (c) => {
    const tokenId = parseTokenId(c.req.param("tokenId"));
    if (tokenId === null) throw badRequest("INVALID_TOKEN_ID", "tokenId must be a decimal or 0x-hex uint256");
    const view = await omnichainToken(requireIndexed(c.get("deps")), c.req.param("collection"), tokenId);
    if (view.chains.length === 0 && view.bridges.length === 0) throw notFound("NOT_FOUND", "token not indexed");
    return c.json(toJson({ collection: c.req.param("collection"), tokenId, ...view }) as object);
  });

  /** NFTs currently owned by an address (present on a chain), optionally on one chain (`?chain=<chainId>`). */
  app.get("/indexer/owners/:address/tokens", async (c) => {
    const address = c.req.param("address");
    if (!isAddress(address, { strict: false })) throw badRequest("INVALID_ADDRESS", "not an address");
    const chain = c.req.query("chain");
    const chainId = chain === undefined ? undefined : Number(chain);
    if (chainId !== undefined && !Number.isInteger(chainId)) throw badRequest("INVALID_CHAIN", "chain must be a chain id");
    const where = [eq(t.token.owner, address.toLowerCase() as Address), eq(t.token.state, "present")];
    if (chainId !== undefined) where.push(eq(t.token.chainId, chainId));
    const db = requireIndexed(c.get("deps"));
    const rows = await db.select().from(t.token).where(and(...where)).orderBy(asc(t.token.collection), asc(t.token.tokenId)).limit(1000);
    return c.json(toJson({ items: rows }) as object);
  });

  /** One bridge by guid: both halves, status and end-to-end latency. */
  app.get("/indexer/bridges/:guid", async (c) => {
    const guid = c.req.param("guid").toLowerCase() as `0x${string}`;
    const db = requireIndexed(c.get("deps"));
    const [sends, receives] = await Promise.all([db.select().from(t.bridgeSend).where(eq(t.bridgeSend.guid, guid)), db.select().from(t.bridgeReceive).where(eq(t.bridgeReceive.guid, guid))]);
    if (!sends.length && !receives.length) throw notFound("NOT_FOUND", "unknown guid");
    return c.json(toJson(joinBridge(sends[0], receives[0])) as object);
  });

  /** Activity feed after an order key (`?after=<orderKey>&limit=`), oldest first. */
  app.get("/indexer/activity", async (c) => {
    const after = c.req.query("after");
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 200);
    const db = requireIndexed(c.get("deps"));
    const rows = await db
      .select()
      .from(t.activity)
      .where(after ? gt(t.activity.orderKey, after) : undefined)
      .orderBy(asc(t.activity.orderKey))
      .limit(limit);
    return c.json(toJson({ items: rows, nextCursor: rows.length === limit ? rows.at(-1)!.orderKey : null }) as object);
  });

  /** Per-chain supply of each collection. */
  app.get("/indexer/collections", async (c) => {
    const db = requireIndexed(c.get("deps"));
    const [collections, deployments] = await Promise.all([
      db.select().from(t.collection).orderBy(asc(t.collection.slug)),
      db.select().from(t.collectionDeployment).orderBy(asc(t.collectionDeployment.chainId), desc(t.collectionDeployment.address)),
    ]);
    return c.json(toJson({ items: collections.map((col) => ({ ...col, deployments: deployments.filter((d) => d.collection === col.slug) })) }) as object);
  });

  return app;
}
