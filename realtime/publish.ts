/**
 * Publishing a push from outside the notifier (API routes, job workers, followers), with a hook
 * point for other consumers of the same facts (a webhook dispatcher):
 *   - the envelope `{ id, type, rooms, data }` (realtime/protocol.ts) goes on the `realtime` pub/sub
 *     channel, which every realtime process fans out to its sockets, and which any other process
 *     may subscribe to (the same envelope, whichever process published it);
 *   - in-process listeners registered with `onPush` get the same envelope after the publish,
 *     including pushes addressed to no room (e.g. a mint by an API key, which no socket can see).
 * A failed publish or listener never fails the work that produced the fact; `id` is stable per fact
 * so consumers dedupe repeats (a job attempt repeated after a crash republishes the same id).
 */
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import { REALTIME_CHANNEL } from "./protocol.js";

export type Push = { id: string; type: string; rooms: string[]; data: Record<string, unknown> };
export type PushListener = (push: Push) => void | Promise<void>;

const listeners = new Set<PushListener>();

/** Calls `listener` with every push published by this process; returns the unsubscribe. */
export function onPush(listener: PushListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function publishPush(kv: KeyValueStore, log: Logger, push: Push): Promise<void> {
  try {
    await kv.publish(REALTIME_CHANNEL, JSON.stringify(push));
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
}
