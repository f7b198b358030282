/**
 * A JSON-RPC tap for benchmarks: an HTTP proxy in front of one chain's RPC that forwards every
 * request unchanged and records, per block number, the first instant a response carried that block
 * (`eth_getBlockByNumber` / `eth_getBlockByHash` results, single or batched). Put it between Ponder
 * and a chain to see when the indexer first *learned* of a block, which splits "mined → indexed"
 * into Ponder's polling wait and its fetch + indexing + commit.
 */
import http from "node:http";
import { freePort } from "../../devnet/anvil.js";

export type RpcTap = {
  url: string;
  /** performance.now() of the first response that carried block `n`, if any. */
  firstSeen(n: bigint): number | undefined;
  /** Every request method counted (for a "what does the indexer ask" line). */
  counts(): Record<string, number>;
  close(): Promise<void>;
};

type RpcMessage = { method?: string; result?: { number?: string } | null };

export async function startRpcTap(target: string): Promise<RpcTap> {
  const seen = new Map<bigint, number>();
  const counts: Record<string, number> = {};
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let requests: RpcMessage[] = [];
    try {
      const parsed = JSON.parse(body.toString()) as RpcMessage | RpcMessage[];
      requests = Array.isArray(parsed) ? parsed : [parsed];
    } catch {}
    for (const r of requests) if (r.method) counts[r.method] = (counts[r.method] ?? 0) + 1;
    try {
      const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await upstream.text();
      const at = performance.now();
      if (requests.some((r) => r.method === "eth_getBlockByNumber" || r.method === "eth_getBlockByHash")) {
        try {
          const parsed = JSON.parse(text) as RpcMessage | RpcMessage[];
          for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
            const n = m?.result?.number;
            if (typeof n === "string") {
              const block = BigInt(n);
              if (!seen.has(block)) seen.set(block, at);
            }
          }
        } catch {}
      }
      res.writeHead(upstream.status, { "content-type": "application/json" });
      res.end(text);
    } catch {
      res.writeHead(502);
      res.end();
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    firstSeen: (n) => seen.get(n),
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
