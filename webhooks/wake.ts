/**
 * Wakes the webhook dispatchers of every process (webhooks/dispatcher.ts) once new deliveries are
 * committed: they sleep until the next delivery is due otherwise, instead of sweeping every second.
 * A lost wake (Redis down) only delays deliveries until the dispatchers' safety sweep.
 */
import type { KeyValueStore } from "../infra/redis.js";

export const WEBHOOK_WAKE_CHANNEL = "webhooks:wake";

/** Call after the transaction that wrote deliveries committed (before, a sweep could miss them). */
export function wakeWebhookDispatchers(kv: Pick<KeyValueStore, "publish">): void {
  kv.publish(WEBHOOK_WAKE_CHANNEL, "1").catch(() => {});
}
