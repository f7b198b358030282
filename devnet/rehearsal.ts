/**
 * A production-mode rehearsal on local chains: two anvil chains carrying real testnets' chain ids
 * and EIDs (Base Sepolia, Arbitrum Sepolia), EndpointV2 at the testnets' real address, blocks every
 * second and 2 source confirmations per pathway — indexed by `ponder start` exactly as operators run
 * it (PONDER_NETWORK=testnet, a collections file, RPC_URL_<CHAIN>), with no devnet shortcut.
 * `npm run rehearsal` (scripts/dev.ts --rehearsal) and test/bridge/rehearsal.test.ts use it.
 */
import { TESTNET_ENDPOINT_V2 } from "../indexer/networks.js";
import type { Deployments } from "../chain/deployments.js";
import type { DevnetOptions } from "./options.js";

export const REHEARSAL_CHAINS = [
  { name: "base-sepolia", chainId: 84532, eid: 40245 },
  { name: "arbitrum-sepolia", chainId: 421614, eid: 40231 },
] as const;

export const REHEARSAL_DEVNET: DevnetOptions = {
  chains: REHEARSAL_CHAINS.length,
  chainSpecs: REHEARSAL_CHAINS.map((c) => ({ ...c })),
  endpointAddress: TESTNET_ENDPOINT_V2,
  blockTime: 1,
  layerZero: { confirmations: 2 },
};

/** The INDEXER_COLLECTIONS file of these deployments (what an operator writes for real networks). */
export function collectionsFile(deployments: Deployments) {
  const nameOf = (chainId: number) => deployments.chains.find((c) => c.chainId === chainId)!.name;
  return {
    collections: deployments.collections.map((c) => ({
      slug: c.slug,
      name: c.name,
      symbol: c.symbol,
      deployments: c.deployments.map((d) => ({
        chain: nameOf(d.chainId),
        kind: d.kind,
        address: d.address,
        ...(d.kind === "adapter" ? { token: d.token } : {}),
        startBlock: d.startBlock,
      })),
    })),
  };
}

/** The environment `ponder start` runs with: network mode, the collections file, one RPC URL per chain. */
export function rehearsalEnv(deployments: Deployments, collectionsPath: string): Record<string, string> {
  return {
    PONDER_NETWORK: "testnet",
    INDEXER_COLLECTIONS: collectionsPath,
    ...Object.fromEntries(deployments.chains.map((c) => [`RPC_URL_${c.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`, c.rpcUrl])),
    ...Object.fromEntries(deployments.chains.flatMap((c) => (c.wsUrl ? [[`WS_URL_${c.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`, c.wsUrl]] : []))),
  };
}
