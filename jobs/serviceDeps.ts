/** The NFT services' dependencies inside a job worker: the worker's, with the NFT and bridge settings (their defaults when the worker was given none; one object per worker set). */
import type { ServiceDeps } from "../api/http/context.js";
import { BRIDGE_DEFAULTS } from "../infra/config/bridge.js";
import { nftSettings } from "../infra/config/nfts.js";
import type { WorkerDeps } from "./types.js";

const memo = new WeakMap<WorkerDeps, ServiceDeps>();

export function serviceDeps(deps: WorkerDeps): ServiceDeps {
  let out = memo.get(deps);
  if (!out) memo.set(deps, (out = { ...deps, nft: deps.nft ?? nftSettings({ dataDir: deps.config.dataDir }), bridge: deps.bridge ?? BRIDGE_DEFAULTS }));
  return out;
}
