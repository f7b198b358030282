/**
 * Stuck bridges for operators: a send with no delivery (nor failure) after BRIDGE_STUCK_AFTER_SECONDS.
 * buildApp registers this count as the source of the `cosmic_bridges_stuck` gauge (infra/metrics.ts).
 */
import type { IndexedDb } from "../indexed/db.js";
import { countStuckSends } from "../indexed/bridges.js";

export async function countStuckBridges(indexed: IndexedDb, stuckAfterSeconds: number, nowMs = Date.now()): Promise<number> {
  return await countStuckSends(indexed.db, nowMs, stuckAfterSeconds);
}
