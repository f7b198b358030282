/** Reads of events and participants shared by the routes, the report and the jobs. */
import { and, asc, eq, sql } from "drizzle-orm";
import type { OffchainDb } from "../../offchain/store.js";
import { eventParticipants, events } from "../../offchain/tables/events.js";

export type EventRow = typeof events.$inferSelect;
export type ParticipantRow = typeof eventParticipants.$inferSelect;
export type EventCounts = { registered: number; attended: number; minted: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

export async function findEvent(db: OffchainDb, id: string): Promise<EventRow | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.select().from(events).where(eq(events.id, id)).limit(1);
  return row;
}

export async function eventCounts(db: OffchainDb, ids: string[]): Promise<Map<string, EventCounts>> {
  const out = new Map<string, EventCounts>();
  if (ids.length === 0) return out;
  const rows = await db
    .select({
      eventId: eventParticipants.eventId,
      registered: sql<number>`count(*)::int`,
      attended: sql<number>`(count(*) FILTER (WHERE ${eventParticipants.attendedAt} IS NOT NULL))::int`,
      minted: sql<number>`(count(*) FILTER (WHERE ${eventParticipants.distributionStatus} = 'minted'))::int`,
    })
    .from(eventParticipants)
    .where(
      sql`${eventParticipants.eventId} IN (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    )
    .groupBy(eventParticipants.eventId);
  for (const id of ids) out.set(id, { registered: 0, attended: 0, minted: 0 });
  for (const r of rows) out.set(r.eventId, { registered: Number(r.registered), attended: Number(r.attended), minted: Number(r.minted) });
  return out;
}

export async function findParticipant(db: OffchainDb, eventId: string, address: string): Promise<ParticipantRow | undefined> {
  const [row] = await db
    .select()
    .from(eventParticipants)
    .where(and(eq(eventParticipants.eventId, eventId), eq(eventParticipants.address, address)))
    .limit(1);
  return row;
}

export async function findParticipantByTicket(db: OffchainDb, ticketId: string): Promise<ParticipantRow | undefined> {
  const [row] = await db.select().from(eventParticipants).where(eq(eventParticipants.ticketId, ticketId)).limit(1);
  return row;
}

export async function listParticipants(db: OffchainDb, eventId: string): Promise<ParticipantRow[]> {
  return await db
    .select()
    .from(eventParticipants)
    .where(eq(eventParticipants.eventId, eventId))
    .orderBy(asc(eventParticipants.registeredAt), asc(eventParticipants.address));
}

/** The event (and attendee) an attendance NFT belongs to: how minted tokens link back to events. */
export async function findEventOfToken(db: OffchainDb, chainId: number, tokenId: bigint): Promise<{ eventId: string; address: string } | undefined> {
  const [row] = await db
    .select({ eventId: eventParticipants.eventId, address: eventParticipants.address })
    .from(eventParticipants)
    .innerJoin(events, eq(events.id, eventParticipants.eventId))
    .where(and(eq(eventParticipants.tokenId, tokenId.toString()), eq(events.chainId, chainId)))
    .limit(1);
  return row;
}
