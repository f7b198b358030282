/**
 * Hands deliveries to the job queue. Deliveries live in Postgres (webhooks/outbox.ts); this loop,
 * run by every process that runs job workers (one row is claimed by one process: FOR UPDATE SKIP
 * LOCKED), sweeps when woken (new deliveries committed anywhere: webhooks/wake.ts on the key-value
 * store's pub/sub), when the next delivery falls due, and every WEBHOOK_IDLE_SWEEP_MS as a safety net
 * — never faster than WEBHOOK_SWEEP_MS unless woken. Without a key-value store to wake it, it sweeps
 * every WEBHOOK_SWEEP_MS. Each sweep:
 *   - enqueues `pending` deliveries (new, released after their confirmations, tests, replays);
 *   - re-enqueues deliveries whose job looks lost (queued/delivering/retrying past their
 *     `next_attempt_at` plus a grace: the job vanished with a Redis restart, or was never queued);
 *   - while Redis is down, enqueueing fails (or does not answer within 2 s): the rows go back to
 *     `pending` and the next sweep after Redis returns queues them — nothing is lost; at worst an
 *     enqueue that was only late runs too, and the attempt is repeated (at-least-once);
 *   - deletes events older than WEBHOOK_EVENT_RETENTION_SECONDS (their deliveries stay).
 */
import { sql } from "drizzle-orm";
import type { Config } from "../infra/config/index.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { Logger } from "../infra/logger.js";
import { type TickLoop, startTickLoop } from "../infra/tickLoop.js";
import { WEBHOOK_DELIVERY } from "../jobs/names.js";
import type { JobQueue } from "../jobs/types.js";
import type { OffchainStore } from "../offchain/store.js";
import { WEBHOOK_WAKE_CHANNEL } from "./wake.js";

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];

/** An enqueue that does not answer (ioredis queues commands while Redis is unreachable) counts as failed. */
const ENQUEUE_TIMEOUT_MS = 2_000;
async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("job queue did not answer")), ENQUEUE_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export type WebhookDispatcher = { wake(): void; sweep(): Promise<number>; stop(): Promise<void> };

export function startWebhookDispatcher(deps: {
  store: OffchainStore;
  queue: JobQueue;
  config: Pick<Config, "webhooks">;
  logger: Logger;
  /** Its pub/sub wakes the loop when deliveries are written; without it the loop sweeps every WEBHOOK_SWEEP_MS. */
  kv?: Pick<KeyValueStore, "subscribe">;
}): WebhookDispatcher {
  const log = deps.logger.child({ component: "webhooks" });
  const { webhooks } = deps.config;
  let lastPrune = 0;
  let wakes = false;
  /** The sleep after the last sweep: until the next delivery is due, within [sweepMs, idleSweepMs]. */
  let nextMs = webhooks.sweepMs;

  /** Until the next row can be claimed (a pending delivery due, a queued one whose job may be lost), within [sweepMs, idleSweepMs]. */
  const sleepUntilDue = async (db: OffchainStore["db"]): Promise<number> => {
    const [due] = rowsOf(
      await db.execute(sql`SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - now())) * 1000 AS ms FROM offchain.webhook_deliveries
        WHERE status IN ('pending', 'queued', 'delivering', 'retrying')`),
    );
    const dueMs = due?.ms == null ? Number.POSITIVE_INFINITY : Math.ceil(Number(due.ms));
    return Math.min(webhooks.idleSweepMs, Math.max(webhooks.sweepMs, dueMs));
  };

  const sweep = async (): Promise<number> => {
    const db = deps.store.db;
    const claimed = rowsOf(
      await db.execute(sql`UPDATE offchain.webhook_deliveries d SET status = 'queued', enqueues = d.enqueues + 1, job_id = NULL,
          next_attempt_at = now() + make_interval(secs => ${(webhooks.timeoutMs + 30_000) / 1000}), updated_at = now()
        WHERE d.id IN (SELECT id FROM offchain.webhook_deliveries
          WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status IN ('queued', 'delivering', 'retrying') AND next_attempt_at < now())
          ORDER BY next_attempt_at LIMIT 200 FOR UPDATE SKIP LOCKED)
        RETURNING d.id, d.enqueues, d.attempts, d.max_attempts`),
    );
    let queued = 0;
    for (let i = 0; i < claimed.length; i++) {
      const row = claimed[i]!;
      const id = String(row.id);
      try {
        const { job } = await withTimeout(
          deps.queue.enqueue({
            type: WEBHOOK_DELIVERY,
            data: { deliveryId: id, enqueue: Number(row.enqueues) },
            createdBy: "webhooks",
            dedupeKey: `webhook:${id}:${row.enqueues}`,
            attempts: Math.max(1, Number(row.max_attempts) - Number(row.attempts)),
            backoffMs: webhooks.backoffMs,
          }),
        );
        await db.execute(sql`UPDATE offchain.webhook_deliveries SET job_id = ${job.id} WHERE id = ${id} AND status = 'queued'`);
        queued++;
      } catch (error) {
        // Redis down: these go back to pending, retried by a later sweep.
        const rest = claimed.slice(i).map((r) => String(r.id));
        const list = sql.join(
          rest.map((r) => sql`${r}::uuid`),
          sql`, `,
        );
        await db.execute(
          sql`UPDATE offchain.webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 second', updated_at = now() WHERE id IN (${list}) AND status = 'queued'`,
        );
        log.warn({ err: error, pending: rest.length }, "webhooks: job queue unavailable, deliveries kept pending");
        break;
      }
    }
    nextMs = !wakes || claimed.length === 200 ? webhooks.sweepMs : await sleepUntilDue(db);
    if (Date.now() - lastPrune > 60_000) {
      lastPrune = Date.now();
      await db.execute(sql`DELETE FROM offchain.webhook_events WHERE created_at < now() - make_interval(secs => ${webhooks.eventRetentionSeconds})`);
    }
    return queued;
  };

  const loop: TickLoop = startTickLoop({
    tick: () =>
      sweep().catch((error) => {
        nextMs = webhooks.sweepMs;
        throw error;
      }),
    intervalMs: () => nextMs,
    onError: (error) => log.warn({ err: error }, "webhook sweep failed (retrying)"),
  });
  const subscribed = deps.kv
    ?.subscribe(WEBHOOK_WAKE_CHANNEL, () => loop.wake())
    .then((unsubscribe) => {
      wakes = true;
      return unsubscribe;
    })
    .catch((error: unknown) => {
      log.warn({ err: error }, "webhooks: no wake subscription, sweeping every WEBHOOK_SWEEP_MS");
      return undefined;
    });
  return {
    wake: () => loop.wake(),
    sweep,
    async stop() {
      await (await subscribed)?.();
      await loop.stop();
    },
  };
}
