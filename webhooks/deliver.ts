/**
 * The job of one delivery attempt (`webhook-delivery`, on the job queue): sign with the active
 * secrets, POST under the SSRF guard, record the attempt. 2xx → delivered; anything else (5xx,
 * timeout, refused connection, 3xx, 4xx) → the job fails and the queue retries it with exponential
 * backoff, until `max_attempts` is reached → `dead` (dead-lettered: kept, shown by
 * GET /webhooks/{id}/deliveries, replayable). A delivery already delivered, dead or cancelled is
 * skipped, so a job run twice (lost lock, re-queued after a Redis outage) sends at most once more:
 * at-least-once, deduplicated by the receiver on `Webhook-Id`.
 */
import { eq, sql } from "drizzle-orm";
import type { Config } from "../infra/config/index.js";
import type { OffchainStore } from "../offchain/store.js";
import { type AttemptLogEntry, webhookDeliveries, webhookSubscriptions } from "../offchain/tables/webhooks.js";
import { type JobContext, PermanentJobError } from "../jobs/types.js";
import { backoffDelay } from "../jobs/store.js";
import { postWebhook } from "./send.js";
import { signedHeaders } from "./signing.js";

export type DeliveryDeps = { store: OffchainStore; config: Pick<Config, "webhooks"> };

/** The secrets that sign now: the current one, and the previous one during a rotation's overlap. */
export function activeSecrets(sub: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }, now = Date.now()): string[] {
  return sub.previousSecret && sub.previousSecretExpiresAt && sub.previousSecretExpiresAt.getTime() > now ? [sub.secret, sub.previousSecret] : [sub.secret];
}

/** How long after an attempt starts a delivery may look abandoned (its job lost): then it is queued again. */
export const staleAfterMs = (config: Pick<Config, "webhooks">) => config.webhooks.timeoutMs + 30_000;

export async function deliverWebhook(deps: DeliveryDeps, data: Record<string, unknown>, ctx: Pick<JobContext, "log">): Promise<unknown> {
  const id = String(data.deliveryId ?? "");
  const db = deps.store.db;
  const { webhooks } = deps.config;
  const [delivery] = await db
    .update(webhookDeliveries)
    .set({
      status: "delivering",
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      nextAttemptAt: new Date(Date.now() + staleAfterMs(deps.config)),
      updatedAt: new Date(),
    })
    // Only the job of the latest hand-over runs: one queued late (an enqueue that answered after the
    // dispatcher gave up on it, while Redis was away) is skipped once the delivery was handed over again.
    .where(
      sql`${webhookDeliveries.id} = ${id} AND ${webhookDeliveries.status} IN ('queued', 'retrying', 'delivering', 'pending')
        AND (${data.enqueue === undefined} OR ${webhookDeliveries.enqueues} = ${Number(data.enqueue ?? 0)})`,
    )
    .returning();
  if (!delivery) return { skipped: true };
  const [sub] = await db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, delivery.subscriptionId));
  if (!sub) {
    await db
      .update(webhookDeliveries)
      .set({ status: "cancelled", lastError: "subscription deleted", updatedAt: new Date() })
      .where(eq(webhookDeliveries.id, id));
    return { skipped: true };
  }
  const body = JSON.stringify(delivery.payload);
  const result = await postWebhook(sub.url, body, signedHeaders(activeSecrets(sub), delivery.pushId, body), {
    timeoutMs: webhooks.timeoutMs,
    allowHosts: webhooks.allowHosts,
  });
  const entry: AttemptLogEntry = { at: new Date().toISOString(), status: result.status, error: result.error, ms: result.ms };
  const log = sql`(coalesce(${webhookDeliveries.attemptLog}, '[]'::jsonb) || ${JSON.stringify([entry])}::jsonb)`;
  // The last 20 attempts.
  const capped = sql`(SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) FROM jsonb_array_elements(${log}) WITH ORDINALITY AS t(e, i) WHERE i > jsonb_array_length(${log}) - 20)`;
  if (result.ok) {
    await db
      .update(webhookDeliveries)
      .set({ status: "delivered", lastStatus: result.status, lastError: null, attemptLog: capped, deliveredAt: new Date(), updatedAt: new Date() })
      .where(eq(webhookDeliveries.id, id));
    return { status: result.status, ms: result.ms };
  }
  const dead = delivery.attempts >= delivery.maxAttempts;
  await db
    .update(webhookDeliveries)
    .set({
      status: dead ? "dead" : "retrying",
      lastStatus: result.status,
      lastError: result.error,
      attemptLog: capped,
      nextAttemptAt: new Date(Date.now() + (dead ? 0 : backoffDelay(webhooks.backoffMs, delivery.attempts)) + staleAfterMs(deps.config)),
      updatedAt: new Date(),
    })
    .where(eq(webhookDeliveries.id, id));
  // The receiver's answer is not logged (it may echo anything); the attempt log keeps status and error.
  ctx.log.warn({ deliveryId: id, subscriptionId: sub.id, attempt: delivery.attempts, status: result.status, dead }, "webhook delivery failed");
  if (dead) throw new PermanentJobError(`dead-lettered after ${delivery.attempts} attempts: ${result.error}`);
  throw new Error(`attempt ${delivery.attempts} failed: ${result.error}`);
}
