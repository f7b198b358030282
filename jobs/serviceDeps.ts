/** The NFT services' dependencies inside a job worker: the worker's, with the NFT settings (one object per worker set). */
import type { ServiceDeps } from "../api/http/context.js";
import { nftSettings } from "../domain/nfts/settings.js";
import type { WorkerDeps } from "./types.js";

const memo = new WeakMap<WorkerDeps, ServiceDeps>();

export function serviceDeps(deps: WorkerDeps): ServiceDeps {
  let out = memo.get(deps);
  if (!out) memo.set(deps, (out = { ...deps, nft: deps.nft ?? nftSettings({ dataDir: deps.config.dataDir }) }));
  return out;
}
