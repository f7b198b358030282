/**
 * `bridge:updated` pushes from the bridge tracker's progress (domain/bridge/tracker.ts), published by
 * the notifier in its tick so they are ordered with the chain pushes: a bridge's updates come after
 * its `bridge:initiated` and before its `bridge:completed` / `bridge:failed`, each step once.
 *
 * Steps of a bridge: `confirmations:<n>` for each source confirmation up to the required count,
 * `dvn:<address>` per DVN attestation, `committed`. Each push has the id `bridge:<guid>:<step>`; the
 * steps announced are kept with the progress row (announced), so a restart or failover neither
 * repeats nor skips one, and a step that disappears (a reorg of the destination) is retracted.
 */
import { sql } from "drizzle-orm";
import { getAddress } from "viem";
import { lifecycleStatus } from "../domain/bridge/lifecycle.js";
import { type BridgeProgress, verifiedDvns } from "../domain/bridge/progress.js";
import type { Envelope } from "./protocol.js";

export function stepKeys(p: BridgeProgress): string[] {
  const keys: string[] = [];
  for (let n = 1; n <= Math.min(p.sourceConfirmations, p.requiredConfirmations); n++) keys.push(`confirmations:${n}`);
  for (const d of verifiedDvns(p)) keys.push(`dvn:${d.address.toLowerCase()}`);
  if (p.committed || p.clearedOnChain) keys.push("committed");
  return keys;
}

/** What a `bridge:updated` push says of the bridge after `step`. */
export function updateData(p: BridgeProgress, step: string, send: { collection: string; tokenId: bigint; txHash: string }) {
  return {
    guid: p.guid,
    step,
    status: lifecycleStatus({ sent: true, progress: p }),
    srcChainId: p.srcChainId,
    dstChainId: p.dstChainId,
    collection: send.collection,
    tokenId: String(send.tokenId),
    srcTxHash: send.txHash,
    confirmations: { current: p.sourceConfirmations, required: p.requiredConfirmations },
    dvns: {
      verified: verifiedDvns(p).length,
      required: p.requiredDvnCount,
      optionalThreshold: p.optionalDvnThreshold,
      items: p.dvns.map((d) => ({ address: getAddress(d.address), required: d.required, verified: d.verified, txHash: d.step?.txHash ?? null })),
    },
    committed: p.committed ? { txHash: p.committed.step?.txHash ?? null, at: p.committed.step?.at ?? null } : null,
  };
}

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];
type Tx = { execute(query: ReturnType<typeof sql>): Promise<unknown> };

export type SendOfUpdate = {
  guid: string;
  chainId: number;
  blockNumber: bigint;
  logIndex: number;
  timestamp: bigint;
  collection: string;
  tokenId: bigint;
  txHash: string;
  rooms: string[];
};

/**
 * Envelopes of the steps not announced yet (and retractions of steps gone), per guid, marking them
 * announced in `tx`. A bridge whose send is not announced yet (beyond this tick's bound on its
 * source chain) waits; one whose send was consumed silently (history) is announced silently.
 */
export async function bridgeUpdates(args: {
  tx: Tx;
  sends: (guids: string[]) => Promise<Map<string, SendOfUpdate>>;
  /** This tick's upper block per source chain (what the notifier has handled). */
  bounds: Map<number, number>;
  /** Whether the send's own push was silent (history, or too old). */
  silentSend: (send: SendOfUpdate) => Promise<boolean>;
  limit?: number;
}): Promise<{ updates: Map<string, Envelope[]>; retractions: Envelope[] }> {
  const updates = new Map<string, Envelope[]>();
  const retractions: Envelope[] = [];
  const rows = rowsOf(
    await args.tx.execute(
      sql`SELECT guid, progress, version, announced FROM offchain.bridge_progress WHERE version > announced_version ORDER BY updated_at LIMIT ${args.limit ?? 500}`,
    ),
  );
  if (!rows.length) return { updates, retractions };
  const sends = await args.sends(rows.map((r) => String(r.guid)));
  for (const r of rows) {
    const guid = String(r.guid);
    const send = sends.get(guid);
    if (!send) continue; // not indexed (yet, or reorged away): nothing to announce it against
    const bound = args.bounds.get(send.chainId);
    if (bound === undefined || Number(send.blockNumber) > bound) continue;
    const progress = (typeof r.progress === "string" ? JSON.parse(r.progress) : r.progress) as BridgeProgress;
    const announced = Array.isArray(r.announced) ? r.announced.map(String) : parseTextArray(r.announced);
    const keys = stepKeys(progress);
    const silent = await args.silentSend(send);
    if (!silent) {
      const added = keys.filter((k) => !announced.includes(k));
      const gone = announced.filter((k) => !keys.includes(k));
      if (added.length)
        updates.set(
          guid,
          added.map((step) => ({ type: "bridge:updated", id: `bridge:${guid}:${step}`, rooms: send.rooms, data: updateData(progress, step, send) })),
        );
      for (const step of gone)
        retractions.push({
          type: "reorg",
          id: `reorg:bridge:${guid}:${step}`,
          rooms: send.rooms,
          data: { retracts: `bridge:${guid}:${step}`, retractedType: "bridge:updated", guid, step },
        });
    }
    const list = sql.join(
      keys.map((k) => sql`${k}`),
      sql`, `,
    );
    await args.tx.execute(
      sql`UPDATE offchain.bridge_progress SET announced_version = ${Number(r.version)}, announced = ${keys.length ? sql`ARRAY[${list}]::text[]` : sql`'{}'::text[]`} WHERE guid = ${guid}`,
    );
  }
  return { updates, retractions };
}

function parseTextArray(value: unknown): string[] {
  const text = String(value ?? "");
  return text
    .replace(/^\{|\}$/g, "")
    .split(",")
    .filter(Boolean)
    .map((s) => s.replace(/^"|"$/g, ""));
}
