/**
 * What a bridge's send paid its LayerZero workers (chain/layerzero/feesPaid.ts). The bridge tracker
 * reads it once per bridge with its progress; without a tracker (no progress row) it is read here from
 * the source transaction's receipt once and kept in the key-value store: a mined transaction's logs do
 * not change (a reorg that drops it drops the bridge too). An RPC failure answers null (the status
 * read itself never fails for it).
 */
import type { Hex } from "viem";
import { type FeesPaidJson, feesPaidInReceipt, feesPaidToJson } from "../../chain/layerzero/feesPaid.js";
import { publicClientFor } from "../chains/clients.js";
import type { RequestDeps } from "../deps.js";

const KEEP_MS = 7 * 24 * 3600 * 1000;

export async function feesPaid(deps: RequestDeps, send: { chainId: number; txHash: string; guid: string }): Promise<FeesPaidJson | null> {
  const key = `bridge:fees-paid:${send.chainId}:${send.txHash.toLowerCase()}:${send.guid.toLowerCase()}`;
  const hit = await deps.kv.get(key).catch(() => null);
  if (hit) return JSON.parse(hit) as FeesPaidJson;
  try {
    const receipt = await publicClientFor(deps, send.chainId).getTransactionReceipt({ hash: send.txHash as Hex });
    const found = feesPaidInReceipt(receipt.logs, send.guid as Hex);
    if (!found) return null;
    const json = feesPaidToJson(found);
    await deps.kv.set(key, JSON.stringify(json), KEEP_MS).catch(() => {});
    return json;
  } catch (error) {
    deps.logger.warn({ err: error, chainId: send.chainId, txHash: send.txHash }, "bridge fees paid: receipt unavailable");
    return null;
  }
}
