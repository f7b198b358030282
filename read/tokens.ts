/**
 * Read queries over the indexed tables for the NFT and collection routes. Every function takes the
 * IndexedDatabase (Ponder's read-only `db`, or a read-only pool on the Ponder schema) so the same
 * code runs inside Ponder and in API replicas. Addresses in the index are lowercase.
 */
import { and, asc, count, countDistinct, desc, eq, gt, inArray, or, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/pg-core";
import { type OmnichainToken, deriveLocation, joinBridge } from "../indexer/omnichain.js";
import type { IndexedDatabase } from "./db.js";
import { indexedTables as t } from "./db.js";

export type TokenRow = typeof t.token.$inferSelect;
export type TransferRow = typeof t.transfer.$inferSelect;
export type SendRow = typeof t.bridgeSend.$inferSelect;
export type ReceiveRow = typeof t.bridgeReceive.$inferSelect;

const lower = (a: string) => a.toLowerCase() as `0x${string}`;

export type TokenView = Omit<OmnichainToken, "chains"> & {
  chains: TokenRow[];
  transfers: TransferRow[];
  /** The token's first transfer (its mint): when it was created. */
  firstTransfer: TransferRow | undefined;
  bridges: ReturnType<typeof joinBridge>[];
  sends: SendRow[];
  receives: ReceiveRow[];
};

/** One token across chains: per-chain rows, derived location, its bridges, its last transfers. Undefined when never indexed. */
export async function readTokenView(db: IndexedDatabase, collection: string, tokenId: bigint, lastTransfers = 10): Promise<TokenView | undefined> {
  return (await readTokenViews(db, [{ collection, tokenId }], lastTransfers)).get(tokenKey(collection, tokenId));
}

export type TokenRef = { collection: string; tokenId: bigint };
export const tokenKey = (collection: string, tokenId: bigint) => `${collection}:${tokenId}`;

/**
 * `readTokenView` of several tokens with one query per table (tokens, sends, transfers, receives),
 * whatever their number: the GraphQL DataLoader's batch (50 `nft` fields → 4 index queries).
 * Keyed by `tokenKey`; tokens never indexed are absent.
 */
export async function readTokenViews(db: IndexedDatabase, refs: TokenRef[], lastTransfers = 10): Promise<Map<string, TokenView>> {
  const out = new Map<string, TokenView>();
  const unique = [...new Map(refs.map((r) => [tokenKey(r.collection, r.tokenId), r])).values()];
  if (unique.length === 0) return out;
  const ofTokens = (table: typeof t.token | typeof t.bridgeSend) =>
    or(...unique.map((r) => and(eq(table.collection, r.collection), eq(table.tokenId, r.tokenId))))!;
  // The last `lastTransfers` of each token and its first one (creation time): one statement, a
  // UNION ALL of per-token index scans (each part keeps its own ORDER BY / LIMIT).
  const transferParts = unique.flatMap((r) => {
    const of = and(eq(t.transfer.collection, r.collection), eq(t.transfer.tokenId, r.tokenId));
    return [
      db.select().from(t.transfer).where(of).orderBy(desc(t.transfer.orderKey)).limit(lastTransfers),
      db.select().from(t.transfer).where(of).orderBy(asc(t.transfer.orderKey)).limit(1),
    ];
  });
  const [first, second, ...rest] = transferParts as [(typeof transferParts)[0], ...typeof transferParts];
  const [rows, sends, transfers] = await Promise.all([
    db.select().from(t.token).where(ofTokens(t.token)),
    db.select().from(t.bridgeSend).where(ofTokens(t.bridgeSend)),
    second ? unionAll(first, second, ...rest) : first,
  ]);
  const receives = sends.length
    ? await db
        .select()
        .from(t.bridgeReceive)
        .where(inArray(t.bridgeReceive.guid, [...new Set(sends.map((s) => s.guid))]))
    : [];
  for (const r of unique) {
    const mine = <R extends { collection: string; tokenId: bigint }>(x: R) => x.collection === r.collection && x.tokenId === r.tokenId;
    const tokenRows = rows.filter(mine);
    const tokenSends = sends.filter(mine);
    if (tokenRows.length === 0 && tokenSends.length === 0) continue;
    const guids = new Set(tokenSends.map((s) => s.guid));
    const tokenReceives = receives.filter((x) => guids.has(x.guid));
    const all = [...new Map(transfers.filter(mine).map((x) => [`${x.chainId}:${x.txHash}:${x.logIndex}`, x])).values()].sort((a, b) =>
      b.orderKey.localeCompare(a.orderKey),
    );
    const derived = deriveLocation(tokenRows, tokenSends, tokenReceives);
    const bridges = [...tokenSends]
      .sort((a, b) => b.orderKey.localeCompare(a.orderKey))
      .map((s) =>
        joinBridge(
          s,
          tokenReceives.find((x) => x.guid === s.guid),
        ),
      );
    out.set(tokenKey(r.collection, r.tokenId), {
      ...derived,
      chains: tokenRows,
      transfers: all.slice(0, lastTransfers),
      firstTransfer: all.at(-1),
      bridges,
      sends: tokenSends,
      receives: tokenReceives,
    });
  }
  return out;
}

export type OwnerCursor = { chainId: number; contract: string; tokenId: bigint };

/**
 * Tokens present on some chain and owned by `owner`, in (chainId, contract, tokenId) order from
 * after `cursor` (keyset pagination: tokens arriving meanwhile never shift a page, so no gaps or
 * duplicates among tokens that exist throughout).
 */
export async function listOwnerTokens(
  db: IndexedDatabase,
  owner: string,
  options: { chainId?: number; after?: OwnerCursor; limit: number },
): Promise<TokenRow[]> {
  const where = [eq(t.token.owner, lower(owner)), eq(t.token.state, "present")];
  if (options.chainId !== undefined) where.push(eq(t.token.chainId, options.chainId));
  const a = options.after;
  if (a) {
    where.push(
      or(
        gt(t.token.chainId, a.chainId),
        and(eq(t.token.chainId, a.chainId), gt(t.token.contract, lower(a.contract))),
        and(eq(t.token.chainId, a.chainId), eq(t.token.contract, lower(a.contract)), gt(t.token.tokenId, a.tokenId)),
      )!,
    );
  }
  return await db
    .select()
    .from(t.token)
    .where(and(...where))
    // `chain_id + 0` keeps the planner on the owner index (owner, chain_id) + a small sort: ordering
    // by the bare primary-key columns tempts it into walking the whole primary key for a large
    // holder whose tokens sit at its end (measured: 170 ms → a few ms at 1M tokens, bench/api-nfts.ts).
    .orderBy(sql`${t.token.chainId} + 0`, asc(t.token.contract), asc(t.token.tokenId))
    .limit(options.limit);
}

/** Highest token id minted so far in [from, to) on a chain's contract (to start the server's serials after it). */
export async function maxTokenIdInRange(db: IndexedDatabase, chainId: number, contract: string, from: bigint, to: bigint): Promise<bigint | undefined> {
  const [row] = await db
    .select({ max: sql<string | null>`max(${t.token.tokenId})` })
    .from(t.token)
    .where(and(eq(t.token.chainId, chainId), eq(t.token.contract, lower(contract)), sql`${t.token.tokenId} >= ${from}`, sql`${t.token.tokenId} < ${to}`));
  return row?.max == null ? undefined : BigInt(row.max);
}

export async function listCollections(db: IndexedDatabase) {
  const [collections, deployments] = await Promise.all([
    db.select().from(t.collection).orderBy(asc(t.collection.slug)),
    db.select().from(t.collectionDeployment).orderBy(asc(t.collectionDeployment.chainId), asc(t.collectionDeployment.address)),
  ]);
  return collections.map((c) => ({ ...c, deployments: deployments.filter((d) => d.collection === c.slug) }));
}

/** A collection with its deployments, distinct holders (overall and per chain) and bridge counts. */
export async function readCollectionStats(db: IndexedDatabase, slug: string) {
  const [collection] = await db.select().from(t.collection).where(eq(t.collection.slug, slug));
  if (!collection) return undefined;
  const present = and(eq(t.token.collection, slug), eq(t.token.state, "present"));
  const [deployments, holdersPerChain, [holders], sendsPerChain, receivesPerStatus] = await Promise.all([
    db.select().from(t.collectionDeployment).where(eq(t.collectionDeployment.collection, slug)).orderBy(asc(t.collectionDeployment.chainId)),
    db
      .select({ chainId: t.token.chainId, holders: countDistinct(t.token.owner) })
      .from(t.token)
      .where(present)
      .groupBy(t.token.chainId),
    db
      .select({ holders: countDistinct(t.token.owner) })
      .from(t.token)
      .where(present),
    db.select({ chainId: t.bridgeSend.chainId, n: count() }).from(t.bridgeSend).where(eq(t.bridgeSend.collection, slug)).groupBy(t.bridgeSend.chainId),
    db.select({ status: t.bridgeReceive.status, n: count() }).from(t.bridgeReceive).where(eq(t.bridgeReceive.collection, slug)).groupBy(t.bridgeReceive.status),
  ]);
  return { collection, deployments, holders: holders?.holders ?? 0, holdersPerChain, sendsPerChain, receivesPerStatus };
}

/** The index rows of the tokens `owner` holds (present on a chain), optionally on one chain, by collection and token id. */
export async function listOwnerRows(db: IndexedDatabase, owner: string, options: { chainId?: number; limit: number }): Promise<TokenRow[]> {
  const where = [eq(t.token.owner, lower(owner)), eq(t.token.state, "present")];
  if (options.chainId !== undefined) where.push(eq(t.token.chainId, options.chainId));
  return db
    .select()
    .from(t.token)
    .where(and(...where))
    .orderBy(asc(t.token.collection), asc(t.token.tokenId))
    .limit(options.limit);
}
