/**
 * Registration and attendance: the two writes that must hold under concurrency.
 * - Capacity is enforced by the database: a conditional `UPDATE events SET registered = registered + 1
 *   WHERE registered < capacity AND <window open>` in the same transaction as the participant insert.
 *   Concurrent transactions queue on the event row and re-check the condition, so with N seats
 *   exactly N succeed, on any number of replicas.
 * - Attendance is `UPDATE ... SET attended_at = now() WHERE attended_at IS NULL`: one scan wins.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { OffchainDb } from "../../offchain/store.js";
import { eventParticipants, events } from "../../offchain/tables/events.js";
import { CosmicError, type ServiceError, badRequest, conflict, notFound, unprocessable } from "../../infra/errors.js";
import { type EventRow, findParticipant, findParticipantByTicket, type ParticipantRow } from "./store.js";
import type { TicketKeys } from "./tickets.js";

/** Control flow inside `register`: the unique index caught a second registration racing the first. */
class AlreadyRegistered extends CosmicError {
  constructor() {
    super("conflict", "ALREADY_REGISTERED", "already registered");
  }
}

/** Registers `address` (checksummed); returns the existing registration when there is one. */
export async function register(db: OffchainDb, event: EventRow, address: string): Promise<{ participant: ParticipantRow; created: boolean }> {
  const existing = await findParticipant(db, event.id, address);
  if (existing) return { participant: existing, created: false };
  try {
    const participant = await db.transaction(async (tx) => {
      const seat = await tx
        .update(events)
        .set({ registered: sql`${events.registered} + 1`, updatedAt: new Date() })
        .where(
          and(
            eq(events.id, event.id),
            eq(events.status, "active"),
            sql`now() >= ${events.registrationOpensAt} AND now() <= ${events.registrationClosesAt}`,
            sql`${events.registered} < ${events.capacity}`,
          ),
        )
        .returning({ registered: events.registered });
      if (!seat[0]) throw await whyNoSeat(tx as unknown as OffchainDb, event.id);
      const [inserted] = await tx
        .insert(eventParticipants)
        .values({ eventId: event.id, address, ticketId: randomUUID(), distributionStatus: "none" })
        .onConflictDoNothing()
        .returning();
      // A concurrent request of the same address won: give the seat back (rollback), return its row.
      if (!inserted) throw new AlreadyRegistered();
      return inserted;
    });
    return { participant, created: true };
  } catch (error) {
    if (!(error instanceof AlreadyRegistered)) throw error;
    const row = await findParticipant(db, event.id, address);
    if (!row) throw error;
    return { participant: row, created: false };
  }
}

async function whyNoSeat(db: OffchainDb, eventId: string): Promise<ServiceError> {
  const [row] = await db
    .select({
      status: events.status,
      notOpen: sql<boolean>`now() < ${events.registrationOpensAt}`,
      closed: sql<boolean>`now() > ${events.registrationClosesAt}`,
      opensAt: events.registrationOpensAt,
      closesAt: events.registrationClosesAt,
    })
    .from(events)
    .where(eq(events.id, eventId));
  if (!row) return notFound("EVENT_NOT_FOUND", "no such event");
  if (row.status === "cancelled") return conflict("EVENT_CANCELLED", "the event is cancelled");
  if (row.notOpen) return conflict("REGISTRATION_NOT_OPEN", `registration opens at ${row.opensAt.toISOString()}`);
  if (row.closed) return conflict("REGISTRATION_CLOSED", `registration closed at ${row.closesAt.toISOString()}`);
  return conflict("EVENT_FULL", "every seat is taken");
}

export type VerifyOutcome =
  | { ok: true; participant: ParticipantRow & { attendedAt: Date } }
  | { ok: false; status: 409; code: "ALREADY_CHECKED_IN"; message: string; attendedAt: Date; verifiedBy: string | null };

/**
 * Checks a scanned code for `event` and marks attendance once. Error codes (docs/events.md):
 * 400 TICKET_MALFORMED, 404 TICKET_NOT_REGISTERED, 422 TICKET_FORGED / TICKET_EXPIRED /
 * TICKET_NOT_YET_VALID / TICKET_WRONG_EVENT, 409 EVENT_CANCELLED / CHECK_IN_NOT_OPEN / CHECK_IN_CLOSED /
 * ALREADY_CHECKED_IN. Check-in is open from `window.opensBeforeSeconds` before the start to
 * `window.closesAfterSeconds` after the end: a valid ticket scanned a week early or late is refused.
 */
export async function verifyAttendance(
  db: OffchainDb,
  tickets: TicketKeys,
  event: EventRow,
  code: string,
  verifiedBy: string,
  window: { opensBeforeSeconds: number; closesAfterSeconds: number },
  now = Date.now(),
): Promise<VerifyOutcome> {
  const parsed = tickets.parse(code);
  if (!parsed) throw badRequest("TICKET_MALFORMED", "not a ticket code (expected CL1:<ticket>:<step>:<code>)");
  const participant = await findParticipantByTicket(db, parsed.ticketId);
  if (!participant) throw notFound("TICKET_NOT_REGISTERED", "no registration holds this ticket");
  // The MAC is checked against the ticket's own event first, so "wrong event" is only said of genuine codes.
  const verdict = tickets.check(parsed, participant.eventId, now);
  if (verdict === "forged") throw unprocessable("TICKET_FORGED", "the code was not issued by this server");
  if (participant.eventId !== event.id) throw unprocessable("TICKET_WRONG_EVENT", "the ticket is for another event");
  if (verdict === "expired") throw unprocessable("TICKET_EXPIRED", "the code has expired: ask the holder to show the current QR code");
  if (verdict === "not_yet_valid") throw unprocessable("TICKET_NOT_YET_VALID", "the code is from the future (clock skew?)");
  if (event.status === "cancelled") throw conflict("EVENT_CANCELLED", "the event is cancelled");
  const opensAt = event.startsAt.getTime() - window.opensBeforeSeconds * 1000;
  const closesAt = event.endsAt.getTime() + window.closesAfterSeconds * 1000;
  if (now < opensAt) throw conflict("CHECK_IN_NOT_OPEN", `check-in opens at ${new Date(opensAt).toISOString()}`);
  if (now > closesAt) throw conflict("CHECK_IN_CLOSED", `check-in closed at ${new Date(closesAt).toISOString()}`);
  const [marked] = await db
    .update(eventParticipants)
    .set({ attendedAt: new Date(now), verifiedBy })
    .where(and(eq(eventParticipants.eventId, event.id), eq(eventParticipants.address, participant.address), isNull(eventParticipants.attendedAt)))
    .returning();
  if (marked) return { ok: true, participant: marked as ParticipantRow & { attendedAt: Date } };
  const current = (await findParticipant(db, event.id, participant.address))!;
  return {
    ok: false,
    status: 409,
    code: "ALREADY_CHECKED_IN",
    message: `already checked in at ${current.attendedAt!.toISOString()}`,
    attendedAt: current.attendedAt!,
    verifiedBy: current.verifiedBy,
  };
}
