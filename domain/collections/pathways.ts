/**
 * A collection's LayerZero pathways as the chains configure them (chain/layerzero/pathway.ts): for
 * every ordered pair of its deployments, the peer, the enforced options, the send library with its
 * executor and DVNs (required, optional, threshold, confirmations) on the source, and the receive
 * library with its DVNs on the destination. Read in parallel, cached for a minute; a pathway that
 * cannot be read carries its error code instead of failing the whole answer.
 */
import { zeroHash } from "viem";
import { PathwayError } from "../../chain/layerzero/errors.js";
import { type UlnConfig, describeOptions, readReceivePathway, readSendPathway } from "../../chain/layerzero/pathway.js";
import type { IndexerDeployment } from "../../indexer/setup.js";
import { chainById, publicClientFor, requireNetwork } from "../chains/clients.js";
import type { RequestDeps } from "../deps.js";

const CACHE_MS = 60_000;

const dvnsJson = (u: UlnConfig) => ({
  confirmations: Number(u.confirmations),
  requiredDVNs: u.requiredDVNs,
  optionalDVNs: u.optionalDVNs,
  optionalDVNThreshold: u.optionalDVNThreshold,
});

async function pathway(deps: RequestDeps, src: IndexerDeployment, dst: IndexerDeployment) {
  const network = requireNetwork(deps);
  const base = { srcChainId: src.chainId, dstChainId: dst.chainId, srcEid: src.eid, dstEid: dst.eid };
  try {
    const [send, receive] = await Promise.all([
      readSendPathway(publicClientFor(deps, src.chainId), { endpoint: chainById(network, src.chainId).endpoint, oapp: src.address, dstEid: dst.eid }),
      readReceivePathway(publicClientFor(deps, dst.chainId), { endpoint: chainById(network, dst.chainId).endpoint, oapp: dst.address, srcEid: src.eid }),
    ]);
    return {
      ...base,
      peer: send.peer === zeroHash ? null : send.peer,
      enforcedOptions: describeOptions(send.enforcedOptions),
      send: {
        library: send.sendLibrary.address,
        defaultLibrary: send.sendLibrary.isDefault,
        executor: send.executor.executor,
        maxMessageSize: send.executor.maxMessageSize,
        ...dvnsJson(send.uln),
      },
      receive: { library: receive.receiveLibrary.address, defaultLibrary: receive.receiveLibrary.isDefault, ...dvnsJson(receive.uln) },
      error: send.peer === zeroHash ? { code: "NO_PEER", message: `no peer for EID ${dst.eid}` } : null,
    };
  } catch (error) {
    const code = error instanceof PathwayError ? error.code : "CHAIN_UNAVAILABLE";
    const message = error instanceof PathwayError ? error.message : "a chain's RPC did not answer";
    return { ...base, peer: null, enforcedOptions: null, send: null, receive: null, error: { code, message } };
  }
}

export async function collectionPathways(deps: RequestDeps, slug: string) {
  if (!deps.network) return [];
  const key = `collection:pathways:${slug}`;
  const hit = await deps.kv.get(key).catch(() => null);
  if (hit) return JSON.parse(hit) as Awaited<ReturnType<typeof pathway>>[];
  const deployments = deps.network.collections.find((c) => c.slug === slug)?.deployments ?? [];
  const pairs = deployments.flatMap((src) => deployments.filter((dst) => dst.chainId !== src.chainId).map((dst) => [src, dst] as const));
  const result = await Promise.all(pairs.map(([src, dst]) => pathway(deps, src, dst)));
  if (result.every((p) => p.error?.code !== "CHAIN_UNAVAILABLE")) await deps.kv.set(key, JSON.stringify(result), CACHE_MS).catch(() => {});
  return result;
}
