/**
 * Stuck bridges for operators, by reason: a send not delivered after BRIDGE_STUCK_AFTER_SECONDS,
 * with what it waits for (domain/bridge/lifecycle.ts: confirmations, a DVN, the commit, the executor,
 * or a failed execution), from the index and the tracker's progress. buildApp registers this as the
 * source of the `cosmic_bridges_stuck{reason}` gauge (infra/metrics.ts).
 */
import { STUCK_REASONS, type StuckReason, lifecycleStatus, stuckReason } from "./lifecycle.js";
import { loadProgress } from "./progressStore.js";
import type { OffchainStore } from "../../offchain/store.js";
import type { IndexedDb } from "../../read/db.js";
import { stuckSends } from "../../read/bridges.js";

export async function countStuckBridges(
  indexed: IndexedDb,
  store: Pick<OffchainStore, "db">,
  stuckAfterSeconds: number,
  nowMs = Date.now(),
): Promise<Record<StuckReason, number>> {
  const stuck = await stuckSends(indexed.db, nowMs, stuckAfterSeconds);
  const progress = await loadProgress(
    store.db,
    stuck.map((s) => s.guid),
    { staleAfterMs: Number.POSITIVE_INFINITY, nowMs },
  );
  const counts = Object.fromEntries(STUCK_REASONS.map((r) => [r, 0])) as Record<StuckReason, number>;
  for (const s of stuck) {
    const p = progress.get(s.guid.toLowerCase())?.progress;
    const status = lifecycleStatus({ sent: true, receive: s.status ? { status: s.status } : undefined, progress: p });
    counts[stuckReason(status, p).reason]++;
  }
  return counts;
}
