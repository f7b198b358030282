/**
 * Publishing a push from outside the notifier (API routes, job workers): the one helper beside the
 * notifier's own tick.
 *   - the envelope `{ id, type, rooms, data }` (realtime/protocol.ts) is appended to the resume log
 *     and published on the `realtime` channel in one step (realtime/pushLog.ts), which every
 *     realtime process fans out to its sockets;
 *   - with `webhooks`, it is also written to the webhook outbox (webhooks/outbox.ts) for the
 *     subscriptions whose types and filters match — after the work's own commit: a crash in between
 *     loses that one event's deliveries (the notifier's pushes are written in its transaction);
 *   - in-process listeners registered with `onPush` get the same envelope after the publish,
 *     including pushes addressed to no room (e.g. a mint by an API key, which no socket can see).
 * A failed publish, outbox write or listener never fails the work that produced the fact; `id` is
 * stable per fact so consumers dedupe repeats (a job attempt repeated after a crash republishes it).
 */
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { OffchainStore } from "../offchain/store.js";
import { recordWebhookEvents } from "../webhooks/outbox.js";
import { wakeWebhookDispatchers } from "../webhooks/wake.js";
import { publishPush } from "./pushLog.js";

export type Push = { id: string; type: string; rooms: string[]; data: Record<string, unknown> };
export type PushListener = (push: Push) => void | Promise<void>;

const listeners = new Set<PushListener>();

/** Calls `listener` with every push announced by this process; returns the unsubscribe. */
export function onPush(listener: PushListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function announcePush(kv: KeyValueStore, log: Logger, push: Push, webhooks?: { store: OffchainStore; maxAttempts: number }): Promise<void> {
  try {
    await publishPush(kv, push);
  } catch (error) {
    log.warn({ err: error, type: push.type, pushId: push.id }, "realtime publish failed");
  }
  for (const listener of listeners) {
    try {
      await listener(push);
    } catch (error) {
      log.warn({ err: error, type: push.type, pushId: push.id }, "push listener failed");
    }
  }
  if (webhooks) {
    try {
      if (await recordWebhookEvents(webhooks.store.db, [push], { maxAttempts: webhooks.maxAttempts })) wakeWebhookDispatchers(kv);
    } catch (error) {
      log.warn({ err: error, type: push.type, pushId: push.id }, "webhook outbox write failed");
    }
  }
}
