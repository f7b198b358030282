/**
 * What a bridge's send paid its LayerZero workers (chain/layerzero/feesPaid.ts), read once from the
 * source transaction's receipt and kept in the key-value store: a mined transaction's logs do not
 * change (a reorg that drops it drops the bridge too). An RPC failure answers null (the status read
 * itself never fails for it).
 */
import type { Hex } from "viem";
import { type FeesPaid, feesPaidInReceipt } from "../../chain/layerzero/feesPaid.js";
import { publicClientFor } from "../chains/clients.js";
import type { RequestDeps } from "../http/context.js";

const KEEP_MS = 7 * 24 * 3600 * 1000;

export type FeesPaidJson = {
  sendLibrary: string;
  executor: { address: string; fee: string } | null;
  dvns: { address: string; required: boolean; fee: string }[];
  workers: string;
};

const toJson = (f: FeesPaid): FeesPaidJson => ({
  sendLibrary: f.sendLibrary,
  executor: f.executor && { address: f.executor.address, fee: f.executor.fee.toString() },
  dvns: f.dvns.map((d) => ({ address: d.address, required: d.required, fee: d.fee.toString() })),
  workers: f.workers.toString(),
});

export async function feesPaid(deps: RequestDeps, send: { chainId: number; txHash: string; guid: string }): Promise<FeesPaidJson | null> {
  const key = `bridge:fees-paid:${send.chainId}:${send.txHash.toLowerCase()}:${send.guid.toLowerCase()}`;
  const hit = await deps.kv.get(key).catch(() => null);
  if (hit) return JSON.parse(hit) as FeesPaidJson;
  try {
    const receipt = await publicClientFor(deps, send.chainId).getTransactionReceipt({ hash: send.txHash as Hex });
    const found = feesPaidInReceipt(receipt.logs, send.guid as Hex);
    if (!found) return null;
    const json = toJson(found);
    await deps.kv.set(key, JSON.stringify(json), KEEP_MS).catch(() => {});
    return json;
  } catch (error) {
    deps.logger.warn({ err: error, chainId: send.chainId, txHash: send.txHash }, "bridge fees paid: receipt unavailable");
    return null;
  }
}
