/**
 * Push hooks: after its commit the API publishes on the `realtime` channel (infra/redis.ts adds the
 * prefix) a JSON envelope `{ id, type, rooms, data }` (realtime/protocol.ts), logged for resume (realtime/pushLog.ts); the realtime service fans it out to the sockets in
 * those rooms. A failed publish never fails the request that committed.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import { publishPush } from "./pushLog.js";
import type { OffchainStore } from "../offchain/store.js";
import { recordWebhookEvents } from "../webhooks/outbox.js";
import { wakeWebhookDispatchers } from "../webhooks/wake.js";

/** `id` is stable per fact, so a client seeing a push twice (reconnect, two replicas) can drop the copy. */
export type RealtimeEnvelope = { id: string; type: "event:registered" | "event:attended"; rooms: string[]; data: Record<string, unknown> };

export async function publishEventUpdate(kv: KeyValueStore, log: Logger, envelope: RealtimeEnvelope): Promise<void> {
  try {
    await publishPush(kv, envelope);
  } catch (error) {
    log.warn({ err: error, type: envelope.type }, "realtime publish failed");
  }
}

export const eventRoom = (eventId: string) => `event:${eventId}`;
export const userRoom = (address: string) => `user:${address}`;

/**
 * A registration or a check-in as two pushes: the event room (public: anyone may join it) gets the
 * counts only; the attendee's and the organizer's own rooms get the details (address, time). The
 * public push's id names the fact by a hash of its ticket id, not by the wallet.
 */
export async function publishParticipantFact(
  kv: KeyValueStore,
  log: Logger,
  fact: {
    type: RealtimeEnvelope["type"];
    eventId: string;
    ticketId: string;
    address: string;
    /** The organizer's wallet, when it still holds the organizer role (else its room gets nothing). */
    organizer: string | undefined;
    counts: Record<string, number | null>;
    details: Record<string, unknown>;
  },
  /** With the store (and webhook attempts), the detailed fact also goes to webhook subscriptions. */
  webhooks?: { store: OffchainStore; maxAttempts: number },
): Promise<void> {
  const publicId = createHash("sha256").update(fact.ticketId).digest("hex").slice(0, 16);
  await publishEventUpdate(kv, log, {
    id: `${fact.type}:${fact.eventId}:${publicId}`,
    type: fact.type,
    rooms: [eventRoom(fact.eventId)],
    data: { eventId: fact.eventId, ...fact.counts },
  });
  const rooms = [userRoom(fact.address), ...(fact.organizer && fact.organizer !== fact.address ? [userRoom(fact.organizer)] : [])];
  const detailed: RealtimeEnvelope = {
    id: `${fact.type}:${fact.eventId}:${fact.address}`,
    type: fact.type,
    rooms,
    data: { eventId: fact.eventId, address: fact.address, ...fact.details, ...fact.counts },
  };
  await publishEventUpdate(kv, log, detailed);
  if (webhooks) {
    // After the request's commit (like the pushes): a crash in between loses this one event's deliveries.
    try {
      if (await recordWebhookEvents(webhooks.store.db, [detailed], { maxAttempts: webhooks.maxAttempts })) wakeWebhookDispatchers(kv);
    } catch (error) {
      log.warn({ err: error, type: fact.type }, "webhook outbox write failed");
    }
  }
}
