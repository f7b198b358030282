/**
 * Push hooks: after its commit the API publishes on the `realtime` channel (infra/redis.ts adds the
 * prefix) a JSON envelope `{ id, type, rooms, data }` (realtime/protocol.ts); the realtime service fans it out to the sockets in
 * those rooms. A failed publish never fails the request that committed.
 */
import type { Logger } from "../../infra/logger.js";
import type { KeyValueStore } from "../../infra/redis.js";

export const REALTIME_CHANNEL = "realtime";

/** `id` is stable per fact, so a client seeing a push twice (reconnect, two replicas) can drop the copy. */
export type RealtimeEnvelope = { id: string; type: "event:registered" | "event:attended"; rooms: string[]; data: Record<string, unknown> };

export async function publishEventUpdate(kv: KeyValueStore, log: Logger, envelope: RealtimeEnvelope): Promise<void> {
  try {
    await kv.publish(REALTIME_CHANNEL, JSON.stringify(envelope));
  } catch (error) {
    log.warn({ err: error, type: envelope.type }, "realtime publish failed");
  }
}

export const eventRoom = (eventId: string) => `event:${eventId}`;
export const userRoom = (address: string) => `user:${address}`;
