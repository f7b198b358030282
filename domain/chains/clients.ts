/** Chain lookups for routes: configured chains, collection deployments, one viem public client per chain. */
import type { PublicClient } from "viem";
import type { IndexerChain, IndexerDeployment, IndexerSetup } from "../../indexer/setup.js";
import type { ServiceDeps } from "../deps.js";
import { dependencyDown, notFound, unprocessable } from "../../infra/errors.js";
import { createReadClient } from "../../chain/readClient.js";

const clients = new WeakMap<IndexerSetup, Map<number, PublicClient>>();

export function requireNetwork(deps: ServiceDeps): IndexerSetup {
  if (!deps.network) throw dependencyDown("NETWORK_UNAVAILABLE", "no chains are configured on this server");
  return deps.network;
}

export function requireIndexed(deps: ServiceDeps) {
  if (!deps.indexed) throw dependencyDown("INDEX_UNAVAILABLE", "the indexed data is not available on this server");
  return deps.indexed.db;
}

export function chainById(network: IndexerSetup, chainId: number, what = "chain"): IndexerChain {
  const chain = network.chains.find((c) => c.chainId === chainId);
  if (!chain) throw unprocessable("UNKNOWN_CHAIN", `${what} ${chainId} is not a configured chain (${network.chains.map((c) => c.chainId).join(", ")})`);
  return chain;
}

export function chainByEid(network: IndexerSetup, eid: number): IndexerChain | undefined {
  return network.chains.find((c) => c.eid === eid);
}

export function collectionOf(network: IndexerSetup, slug: string) {
  const collection = network.collections.find((c) => c.slug === slug);
  if (!collection) throw notFound("COLLECTION_NOT_FOUND", `no collection "${slug}"`);
  return collection;
}

/** The collection's deployment on `chainId`, or undefined. */
export function deploymentOn(network: IndexerSetup, slug: string, chainId: number): IndexerDeployment | undefined {
  return collectionOf(network, slug).deployments.find((d) => d.chainId === chainId);
}

/** A public client for reads on `chainId` (the signer's when there is one, so both share the transport). */
export function publicClientFor(deps: ServiceDeps, chainId: number): PublicClient {
  const network = requireNetwork(deps);
  const signer = deps.signers?.get(chainId);
  if (signer) return signer.publicClient;
  let perChain = clients.get(network);
  if (!perChain) clients.set(network, (perChain = new Map()));
  let client = perChain.get(chainId);
  if (!client) {
    const chain = chainById(network, chainId);
    client = createReadClient(chain.rpcUrl, { timeoutMs: 10_000, retryCount: 1 });
    perChain.set(chainId, client);
  }
  return client;
}
