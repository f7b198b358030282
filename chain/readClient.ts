import { type PublicClient, createPublicClient, http } from "viem";

/** The read surface of a viem client that chain/ code needs (a PublicClient or a signer's client). */
export type ReadClient = Pick<PublicClient, "readContract">;

export type ReadClientOptions = {
  /** Per request, ms (viem's default 10 s). */
  timeoutMs?: number;
  /** viem's retries of a failed request (its default 3). */
  retryCount?: number;
  /** JSON-RPC batch size: the calls of one tick go out as one HTTP request. */
  batchSize?: number;
};

/**
 * The one way to build a read-only public client on an RPC URL: HTTP transport, viem's own retry
 * and batching. Callers choose how patient they are (a health probe: short, no retry; the tracker:
 * batched; a request: 10 s, one retry). Transactions go through chain/signer.ts instead.
 */
export function createReadClient(rpcUrl: string, options: ReadClientOptions = {}): PublicClient {
  return createPublicClient({
    transport: http(rpcUrl, {
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      ...(options.retryCount !== undefined ? { retryCount: options.retryCount } : {}),
      ...(options.batchSize !== undefined ? { batch: { batchSize: options.batchSize, wait: 0 } } : {}),
    }),
  }) as PublicClient;
}
