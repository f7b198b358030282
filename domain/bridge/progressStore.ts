/**
 * offchain.bridge_progress (migration 0007): the latest progress the tracker read per bridge, and
 * per chain when the tracker last read it. Readers get a bridge's progress with `stale` set when the
 * tracker has not managed to read its destination chain for `staleAfterMs`.
 */
import { sql } from "drizzle-orm";
import type { OffchainDb } from "../../offchain/store.js";
import type { BridgeProgress } from "./progress.js";

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];
const json = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

export type StoredProgress = { progress: BridgeProgress; final: boolean; stale: boolean };

/** Progress of these bridges (lower-case guids), one query. */
export async function loadProgress(
  db: Pick<OffchainDb, "execute">,
  guids: string[],
  options: { staleAfterMs: number; nowMs?: number },
): Promise<Map<string, StoredProgress>> {
  const out = new Map<string, StoredProgress>();
  const keys = [...new Set(guids.map((g) => g.toLowerCase()))];
  if (!keys.length) return out;
  const list = sql.join(
    keys.map((k) => sql`${k}`),
    sql`, `,
  );
  const rows = rowsOf(
    await db.execute(sql`SELECT p.guid, p.progress, p.final, c.checked_at FROM offchain.bridge_progress p
      LEFT JOIN offchain.bridge_tracker_chains c ON c.chain_id = p.dst_chain_id WHERE p.guid IN (${list})`),
  );
  const now = options.nowMs ?? Date.now();
  for (const r of rows) {
    const checkedAt = r.checked_at ? new Date(String(r.checked_at)).getTime() : undefined;
    const final = r.final === true || r.final === "t";
    out.set(String(r.guid), {
      progress: json<BridgeProgress>(r.progress),
      final,
      stale: !final && checkedAt !== undefined && now - checkedAt > options.staleAfterMs,
    });
  }
  return out;
}
