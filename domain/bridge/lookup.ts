/**
 * One bridge by operation id, LayerZero guid or source tx hash, as GET /bridge/{operationId}
 * answers it (and GraphQL's `bridge` / `NFT.bridge`, which map this view field for field).
 */
import { eq, or } from "drizzle-orm";
import { bridgeOperations } from "../../offchain/tables/nfts.js";
import type { RequestDeps } from "../deps.js";
import { bridgeByGuid, sendByTxHash } from "../../read/bridges.js";
import type { ReceiveRow, SendRow } from "../../read/tokens.js";
import { toJson } from "../nfts/ids.js";
import { feesPaid } from "./feesPaid.js";
import { type Operation, linkOperation } from "./prepare.js";
import { type StoredProgress, loadProgress } from "./progressStore.js";
import { composeBridge } from "./status.js";

export type BridgeJson = Record<string, unknown>;

/** The REST body of a bridge (bigints as strings, `stuck` from the clock now). */
export function presentBridge(deps: RequestDeps, send?: SendRow, receive?: ReceiveRow, op?: Operation, progress?: StoredProgress): BridgeJson {
  return toJson(
    composeBridge({
      send,
      receive,
      operation: op ? { ...op, tokenId: op.tokenId } : undefined,
      progress,
      nowMs: Date.now(),
      stuckAfterSeconds: deps.bridge.stuckAfterSeconds,
    }),
  ) as BridgeJson;
}

/** The tracker's progress of these bridges (one query; none without an off-chain store row). */
export function progressOf(deps: RequestDeps, guids: (string | null | undefined)[]): Promise<Map<string, StoredProgress>> {
  return loadProgress(
    deps.store.db,
    guids.filter((g): g is string => !!g),
    { staleAfterMs: deps.bridge.progressStaleSeconds * 1000 },
  );
}

export async function findOperation(deps: RequestDeps, key: string): Promise<Operation | undefined> {
  const k = key.toLowerCase();
  const [op] = await deps.store.db
    .select()
    .from(bridgeOperations)
    .where(k.startsWith("0x") ? or(eq(bridgeOperations.guid, k), eq(bridgeOperations.txHash, k)) : eq(bridgeOperations.id, k))
    .limit(1);
  return op;
}

/**
 * The operation and the two halves `key` names (a prepared operation, a guid or a source tx hash).
 * A hash key is looked up as a guid and as a tx hash at once (one round of queries for the common
 * case, a bridge by its guid).
 */
export async function findHalves(deps: RequestDeps, rawKey: string): Promise<{ op?: Operation; send?: SendRow; receive?: ReceiveRow }> {
  const key = rawKey.toLowerCase();
  const db = deps.indexed?.db;
  if (!key.startsWith("0x")) {
    const op = await findOperation(deps, key);
    if (!op || !db) return { op };
    const send = (op.guid ? (await bridgeByGuid(db, op.guid)).send : undefined) ?? (await linkOperation(deps, op));
    const receive = send ? (await bridgeByGuid(db, send.guid)).receive : undefined;
    return { op, send, receive };
  }
  const [opByKey, byGuid] = await Promise.all([
    findOperation(deps, key),
    db ? bridgeByGuid(db, key) : Promise.resolve({ send: undefined, receive: undefined }),
  ]);
  if (!db) return { op: opByKey };
  if (byGuid.send || byGuid.receive) return { op: opByKey, ...byGuid };
  // A source tx hash (or an operation's guid not indexed yet).
  const send = (await sendByTxHash(db, key)) ?? (opByKey ? await linkOperation(deps, opByKey) : undefined);
  if (!send) return { op: opByKey };
  const [op, halves] = await Promise.all([opByKey ? Promise.resolve(opByKey) : findOperation(deps, send.guid), bridgeByGuid(db, send.guid)]);
  return { op, send, receive: halves.receive };
}

/** The bridge `key` names (a prepared operation, a guid or a source tx hash), or undefined. */
export async function findBridge(deps: RequestDeps, rawKey: string): Promise<BridgeJson | undefined> {
  const key = rawKey.toLowerCase();
  // A guid key: its progress is read beside the halves.
  const [{ op, send, receive }, byKey] = await Promise.all([
    findHalves(deps, key),
    key.startsWith("0x") ? progressOf(deps, [key]) : Promise.resolve(new Map<string, StoredProgress>()),
  ]);
  if (!op && !send && !receive) return undefined;
  const guid = (send?.guid ?? receive?.guid ?? op?.guid)?.toLowerCase();
  const stored = guid ? (byKey.get(guid) ?? (await progressOf(deps, [guid])).get(guid)) : undefined;
  // The tracker reads what was paid with the progress; without it, once from the receipt (cached).
  const paid = stored?.progress.paid !== undefined ? stored.progress.paid : send ? await feesPaid(deps, send) : null;
  return { ...presentBridge(deps, send, receive, op, stored), fees: { quoted: op?.nativeFee ?? null, paid } };
}
