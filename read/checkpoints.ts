/**
 * The index's progress per chain, read from Ponder's `_ponder_checkpoint`: health, the notifier,
 * the metadata follower and the cache keys (a new block changes `indexerVersion`, so memoised
 * answers keyed by it need no explicit purge).
 */
import { sql } from "drizzle-orm";
import type { IndexedDb } from "./db.js";

/** Ponder checkpoints are `timestamp(10) chainId(16) block(16) ...`. */
export function checkpointBlock(checkpoint: string): number {
  return Number(checkpoint.slice(26, 42));
}

export async function readIndexerCheckpoints(indexed: IndexedDb): Promise<{ chainId: number; block: number; checkpoint: string }[]> {
  const result = (await indexed.db.execute(sql`SELECT chain_id, latest_checkpoint FROM _ponder_checkpoint ORDER BY chain_id`)) as unknown;
  const rows = (Array.isArray(result) ? result : (result as { rows: Record<string, unknown>[] }).rows) as { chain_id: unknown; latest_checkpoint: string }[];
  return rows.map((r) => ({ chainId: Number(r.chain_id), block: checkpointBlock(String(r.latest_checkpoint)), checkpoint: String(r.latest_checkpoint) }));
}

const memo = new WeakMap<IndexedDb, { at: number; value: Promise<string> }>();

/**
 * A version string of the whole index ("<chainId>.<block>_..."), memoised for `refreshMs`.
 * Without an index (undefined) it is "none".
 */
export async function indexerVersion(indexed: IndexedDb | undefined, refreshMs = 250): Promise<string> {
  if (!indexed) return "none";
  const entry = memo.get(indexed);
  if (entry && Date.now() - entry.at < refreshMs) return await entry.value;
  const value = readIndexerCheckpoints(indexed).then((rows) => rows.map((r) => `${r.chainId}.${r.block}`).join("_") || "empty");
  memo.set(indexed, { at: Date.now(), value });
  try {
    return await value;
  } catch (error) {
    memo.delete(indexed);
    throw error;
  }
}
