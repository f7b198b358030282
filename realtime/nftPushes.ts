/**
 * Pushes of the NFT service (published through realtime/publish.ts: the realtime channel and the
 * in-process hook): `nft:metadata` after a token's on-chain metadata was re-resolved, and
 * `mint:completed` / `mint:failed` when an asynchronous mint (POST /nfts, Prefer: respond-async) ends.
 */
import type { Push } from "./publish.js";
import type { ServiceDeps } from "../domain/deps.js";
import type { Principal } from "../domain/auth/principal.js";
import type { NftId } from "../domain/nfts/ids.js";
import { type ResolvedRow, displayUrl, thumbnailUrl } from "../domain/nfts/metadata.js";
import type { MintResponse } from "../domain/nfts/mint.js";

/** Why a token was re-resolved: an ERC-4906 log, or a refresh (a job, the per-token route). */
export type MetadataCause =
  | { kind: "MetadataUpdate" | "BatchMetadataUpdate"; chainId: number; blockNumber: string; logIndex: number; txHash: string }
  | { kind: "refresh"; jobId?: string };

export function metadataPush(deps: ServiceDeps, nft: NftId, row: ResolvedRow, cause: MetadataCause): Push {
  const meta = row.metadata ?? {};
  return {
    // One push per resolution: its time names it (a repeated attempt of the same job re-resolves: a new fact).
    id: `nft:metadata:${nft.id}:${row.fetchedAt.getTime()}`,
    type: "nft:metadata",
    rooms: [`collection:${nft.collection}`, `nft:${nft.collection}:${nft.tokenId}`],
    data: {
      id: nft.id,
      collection: nft.collection,
      tokenId: nft.tokenId.toString(),
      chainId: row.chainId,
      status: row.error && !row.metadata ? "error" : "resolved",
      tokenUri: row.tokenUri && row.tokenUri.length <= 2048 ? row.tokenUri : null,
      name: typeof meta.name === "string" ? meta.name : null,
      image: displayUrl(deps, meta.image),
      thumbnail: thumbnailUrl(deps, row.imageHash),
      error: row.error,
      fetchedAt: row.fetchedAt.toISOString(),
      cause,
    },
  };
}

const rooms = (principal: Principal) => (principal.kind === "user" ? [`user:${principal.address}`] : []);

export function mintCompletedPush(jobId: string, principal: Principal, result: MintResponse): Push {
  return { id: `mint:completed:${jobId}`, type: "mint:completed", rooms: rooms(principal), data: { jobId, ...result } };
}

export function mintFailedPush(
  jobId: string,
  principal: Principal,
  request: { collection: string; chainId: number },
  error: { code: string; message: string },
): Push {
  return {
    id: `mint:failed:${jobId}`,
    type: "mint:failed",
    rooms: rooms(principal),
    data: { jobId, collection: request.collection, chainId: request.chainId, error },
  };
}
