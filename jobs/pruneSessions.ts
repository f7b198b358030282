/**
 * Deletes sign-in sessions (and, by cascade, their refresh tokens) that expired more than
 * `retentionSeconds` ago. Expired sessions can no longer be refreshed, so keeping them only serves
 * audits; without pruning `offchain.sessions` grows by one row per login forever.
 *
 * Runs in every process that runs job workers, at start and then every `intervalMs`. Concurrent
 * runs in several replicas are harmless: each batch deletes rows that are already dead, and
 * `SKIP LOCKED` keeps two replicas from waiting on the same rows.
 */
import { inArray, lt } from "drizzle-orm";
import type { Logger } from "../infra/logger.js";
import { sessions } from "../offchain/schema.js";
import type { OffchainDb } from "../offchain/store.js";

export type PruneOptions = { retentionSeconds: number; batchSize?: number; now?: Date };

/** Deletes expired sessions in batches; returns how many were deleted. */
export async function pruneExpiredSessions(db: OffchainDb, options: PruneOptions): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionSeconds * 1000);
  let deleted = 0;
  for (;;) {
    const batch = db.select({ id: sessions.id }).from(sessions).where(lt(sessions.expiresAt, cutoff)).limit(batchSize).for("update", { skipLocked: true });
    const rows = await db.delete(sessions).where(inArray(sessions.id, batch)).returning({ id: sessions.id });
    deleted += rows.length;
    if (rows.length < batchSize) return deleted;
  }
}

/** Prunes now and every `intervalMs` until `stop()`; failures are logged and retried next time. */
export function startSessionPruner(db: OffchainDb, logger: Logger, options: { retentionSeconds: number; intervalMs: number }): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = pruneExpiredSessions(db, options)
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted }, "auth: pruned expired sessions");
      })
      .catch((error: unknown) => logger.warn({ err: error }, "auth: session pruning failed, will retry"))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
