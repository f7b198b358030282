/**
 * The tracker's read client of a chain: the calls of a read go out together as one JSON-RPC batch
 * over HTTP (viem's transport `batch`; every EVM node serves batches, where Multicall3 would need
 * a contract at its address — absent on anvil and on a rehearsal chain carrying a real chain id).
 * Short timeouts: a chain that does not answer only makes its statuses `stale`.
 */
import type { PublicClient } from "viem";
import type { IndexerChain } from "../../indexer/setup.js";
import { createReadClient } from "../../chain/readClient.js";

export function trackerClient(chain: Pick<IndexerChain, "rpcUrl">): PublicClient {
  return createReadClient(chain.rpcUrl, { batchSize: 500, timeoutMs: 5_000, retryCount: 1 });
}
