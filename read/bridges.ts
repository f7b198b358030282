/** Read queries over the two halves of indexed bridges (bridge_send on the source, bridge_receive on the destination). */
import { and, desc, eq, gte, inArray, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { IndexedDatabase } from "./db.js";
import { indexedTables as t } from "./db.js";
import type { ReceiveRow, SendRow } from "./tokens.js";

const lower = (a: string) => a.toLowerCase() as `0x${string}`;

export type BridgeHalves = { send: SendRow | undefined; receive: ReceiveRow | undefined };

export async function bridgeByGuid(db: IndexedDatabase, guid: string): Promise<BridgeHalves> {
  const [sends, receives] = await Promise.all([
    db
      .select()
      .from(t.bridgeSend)
      .where(eq(t.bridgeSend.guid, lower(guid)))
      .limit(1),
    db
      .select()
      .from(t.bridgeReceive)
      .where(eq(t.bridgeReceive.guid, lower(guid)))
      .limit(1),
  ]);
  return { send: sends[0], receive: receives[0] };
}

/** The send of a source transaction (one ONFT send per tx in our flows; the first one otherwise). */
export async function sendByTxHash(db: IndexedDatabase, txHash: string): Promise<SendRow | undefined> {
  const [send] = await db
    .select()
    .from(t.bridgeSend)
    .where(eq(t.bridgeSend.txHash, lower(txHash)))
    .orderBy(t.bridgeSend.logIndex)
    .limit(1);
  return send;
}

/** The earliest send of this token from this holder on this chain at or after `sinceTimestamp` (links a prepared operation). */
export async function findSendFor(
  db: IndexedDatabase,
  q: { collection: string; tokenId: bigint; chainId: number; fromAddress: string; sinceTimestamp: bigint; excludeGuids: string[] },
) {
  const where = [
    eq(t.bridgeSend.collection, q.collection),
    eq(t.bridgeSend.tokenId, q.tokenId),
    eq(t.bridgeSend.chainId, q.chainId),
    eq(t.bridgeSend.fromAddress, lower(q.fromAddress)),
    gte(t.bridgeSend.timestamp, q.sinceTimestamp),
  ];
  for (const g of q.excludeGuids) where.push(ne(t.bridgeSend.guid, lower(g)));
  const [send] = await db
    .select()
    .from(t.bridgeSend)
    .where(and(...where))
    .orderBy(t.bridgeSend.orderKey)
    .limit(1);
  return send;
}

export async function receivesFor(db: IndexedDatabase, guids: string[]): Promise<ReceiveRow[]> {
  if (guids.length === 0) return [];
  return await db
    .select()
    .from(t.bridgeReceive)
    .where(inArray(t.bridgeReceive.guid, guids.map(lower)));
}

export type HistoryCursor = { orderKey: string; guid: string };

/** Bridges sent from or to `address`, newest first (by the send's order key, then guid). */
export async function bridgeHistory(db: IndexedDatabase, address: string, options: { before?: HistoryCursor; limit: number }): Promise<SendRow[]> {
  const a = lower(address);
  const where = [or(eq(t.bridgeSend.fromAddress, a), eq(t.bridgeSend.recipient, a))!];
  const b = options.before;
  if (b) where.push(or(lt(t.bridgeSend.orderKey, b.orderKey), and(eq(t.bridgeSend.orderKey, b.orderKey), lt(t.bridgeSend.guid, lower(b.guid))))!);
  return await db
    .select()
    .from(t.bridgeSend)
    .where(and(...where))
    .orderBy(desc(t.bridgeSend.orderKey), desc(t.bridgeSend.guid))
    .limit(options.limit);
}

/** Sends not delivered (no receive yet, or a failed delivery) whose source block is more than `olderThanSeconds` before `nowMs`. */
export async function stuckSends(
  db: IndexedDatabase,
  nowMs: number,
  olderThanSeconds: number,
  limit = 10_000,
): Promise<{ guid: string; status: string | null }[]> {
  // Same boundary as the per-bridge `stuck` flag (milliseconds), so the gauge and the responses agree.
  const cutoff = String((nowMs - olderThanSeconds * 1000) / 1000);
  return await db
    .select({ guid: t.bridgeSend.guid, status: t.bridgeReceive.status })
    .from(t.bridgeSend)
    .leftJoin(t.bridgeReceive, eq(t.bridgeReceive.guid, t.bridgeSend.guid))
    .where(and(or(isNull(t.bridgeReceive.guid), eq(t.bridgeReceive.status, "FAILED")), sql`${t.bridgeSend.timestamp} < ${cutoff}::numeric`))
    .limit(limit);
}
