/**
 * A JSON-RPC tap for benchmarks (devnet/rpcProxy.ts with an observer): records, per block number,
 * the first instant an answer carried that block (`eth_getBlockByNumber` / `eth_getBlockByHash`,
 * single or batched). Put it between Ponder and a chain to see when the indexer first *learned* of
 * a block, which splits "mined → indexed" into Ponder's polling wait and its fetch + indexing + commit.
 */
import { startRpcProxy } from "../../devnet/rpcProxy.js";

export type RpcTap = {
  url: string;
  /** performance.now() of the first response that carried block `n`, if any. */
  firstSeen(n: bigint): number | undefined;
  /** Every request method counted (for a "what does the indexer ask" line). */
  counts(): Record<string, number>;
  close(): Promise<void>;
};

type RpcAnswer = { result?: { number?: string } | null };

export async function startRpcTap(target: string): Promise<RpcTap> {
  const seen = new Map<bigint, number>();
  const counts: Record<string, number> = {};
  const proxy = await startRpcProxy(target, {
    beforeForward(methods) {
      for (const m of methods) counts[m] = (counts[m] ?? 0) + 1;
      return "forward";
    },
    afterForward(methods, answer, at) {
      if (!methods.some((m) => m === "eth_getBlockByNumber" || m === "eth_getBlockByHash")) return;
      try {
        const parsed = JSON.parse(answer.toString()) as RpcAnswer | RpcAnswer[];
        for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
          const n = m?.result?.number;
          if (typeof n === "string" && !seen.has(BigInt(n))) seen.set(BigInt(n), at);
        }
      } catch {}
    },
  });
  return { url: proxy.url, firstSeen: (n) => seen.get(n), counts: () => ({ ...counts }), close: proxy.close };
}
