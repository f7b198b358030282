/**
 * Baseline for bench/indexer.ts: the smallest useful Ponder indexer on the same chains — ERC-721
 * Transfer events of every collection token (ONFTs and adapted ERC-721s) into one table.
 */
import { createConfig } from "ponder";
import type { Address } from "viem";
import { LegacyERC721Abi } from "../../abis/LegacyERC721Abi.js";
import { loadIndexerSetup } from "../../indexer/setup.js";

const setup = loadIndexerSetup();
const chain: Record<string, { address: Address[]; startBlock: number }> = {};
for (const d of setup.deployments) {
  const entry = (chain[d.chainName] ??= { address: [], startBlock: d.startBlock });
  if (!entry.address.includes(d.token)) entry.address.push(d.token);
}

export default createConfig({
  ordering: "multichain",
  database: process.env.DATABASE_URL
    ? { kind: "postgres", connectionString: process.env.DATABASE_URL }
    : { kind: "pglite", directory: process.env.PONDER_PGLITE_DIR },
  chains: Object.fromEntries(setup.chains.map((c) => [c.name, { id: c.chainId, rpc: c.rpcUrl, pollingInterval: c.pollingInterval }])) as Record<
    string,
    { id: number; rpc: string; pollingInterval: number }
  >,
  contracts: { ERC721: { abi: LegacyERC721Abi, chain } },
});
