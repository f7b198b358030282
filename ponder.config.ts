/**
 * Ponder configuration, built from indexer/setup.ts (devnet deployments file, or PONDER_NETWORK=
 * mainnet|testnet with INDEXER_COLLECTIONS + RPC_URL_<CHAIN>). See docs/indexer.md.
 *
 * Contracts — as few log filters and `eth_getLogs` calls as Ponder allows (each handler is one filter;
 * Ponder merges the filters of one address list into one `eth_getLogs` per block range):
 * - Collection: every address of our collections on a chain in one list — ONFTs, adapters and the
 *   ERC-721s behind adapters — with the ONFT ABI: Transfer (ONFTs and adapted ERC-721s: holders,
 *   locks and unlocks), ONFTSent, ONFTReceived, PeerSet, OwnershipTransferred,
 *   MetadataUpdate and BatchMetadataUpdate (ERC-4906: rows the metadata follower reads). Handlers look the emitting address up in the setup and ignore what does not
 *   apply (an adapter emits no Transfer, an ERC-721 no ONFTSent). One `eth_getLogs` per range.
 * - EndpointV2: LzReceiveAlert filtered by receiver (our OApps) only. Endpoint and library events
 *   carry no indexed field, so nothing else of LayerZero can be scoped to our apps: our PacketSent is
 *   rebuilt from the send() calldata and the path's nonce (checked against the guid), or read from
 *   the receipt of our ONFTSent transaction when that does not apply (context.client, cached by
 *   Ponder); the DVNs' progress, the commit and the executor are read from the chains by the API's
 *   bridge tracker. The devnet runs exactly this path.
 */
import { createConfig } from "ponder";
import type { Abi, Address } from "viem";
import { CosmicONFT721Abi } from "./abis/CosmicONFT721Abi.js";
import { EndpointV2Abi } from "./abis/EndpointV2Abi.js";
import { type IndexerDeployment, IndexerConfigError, loadIndexerSetup } from "./indexer/setup.js";
import { readServerEnv } from "./infra/config/index.js";
import { readIndexerEnv } from "./infra/config/indexer.js";
import { assertPgliteDataDir } from "./infra/pgliteDataDir.js";

let setup: ReturnType<typeof loadIndexerSetup>;
try {
  setup = loadIndexerSetup();
} catch (error) {
  if (error instanceof IndexerConfigError) {
    // One clear line instead of a build stack trace.
    console.error(`\n[indexer config] ${error.message}\n`);
  }
  throw error;
}

type PerChain = { [chainName: string]: { address: Address[]; startBlock: number } };

function perChain(deployments: IndexerDeployment[], pick: (d: IndexerDeployment) => Address[]): PerChain {
  const out: PerChain = {};
  for (const d of deployments) {
    const entry = (out[d.chainName] ??= { address: [], startBlock: d.startBlock });
    for (const address of pick(d)) if (!entry.address.some((a) => a.toLowerCase() === address.toLowerCase())) entry.address.push(address);
    entry.startBlock = Math.min(entry.startBlock, d.startBlock);
  }
  return out;
}

const oapps = setup.deployments.map((d) => d.address);

const endpoints: PerChain = {};
for (const chain of setup.chains) {
  if (setup.deployments.some((d) => d.chainId === chain.chainId))
    endpoints[chain.name] = {
      address: [chain.endpoint],
      startBlock: Math.min(...setup.deployments.filter((d) => d.chainId === chain.chainId).map((d) => d.startBlock)),
    };
}

const settings = readIndexerEnv(process.env);
const databaseUrl = readServerEnv(process.env).DATABASE_URL;
const pgliteDir = settings.pgliteDir ?? `.ponder/${setup.id}/pglite`;
if (!databaseUrl) {
  try {
    assertPgliteDataDir(pgliteDir, "PONDER_PGLITE_DIR");
  } catch (error) {
    console.error(`\n[indexer config] ${(error as Error).message}\n`);
    throw error;
  }
}

export default createConfig({
  ordering: "multichain",
  database: databaseUrl
    ? { kind: "postgres", connectionString: databaseUrl, poolConfig: { max: settings.pgPoolMax } }
    : { kind: "pglite", directory: pgliteDir },
  chains: Object.fromEntries(
    // `ws`: Ponder subscribes to new heads (reconnecting with backoff; missed blocks are fetched on
    // the next head; polling after repeated failures). Without it, it polls every pollingInterval.
    setup.chains.map((c) => [c.name, { id: c.chainId, rpc: c.rpcUrls ?? c.rpcUrl, ...(c.ws ? { ws: c.ws } : {}), pollingInterval: c.pollingInterval }]),
  ) as Record<string, { id: number; rpc: string | string[]; ws?: string; pollingInterval: number }>,
  contracts: {
    // The adapter's and the ERC-721's events used here have the ONFT's signatures (same selectors).
    Collection: { abi: CosmicONFT721Abi, chain: perChain(setup.deployments, (d) => (d.kind === "adapter" ? [d.address, d.token] : [d.address])) },
    EndpointV2: {
      abi: EndpointV2Abi as Abi as typeof EndpointV2Abi,
      chain: endpoints,
      // Only alerts for our OApps, on every network.
      filter: { event: "LzReceiveAlert" as const, args: { receiver: oapps } },
    },
  },
});
