/** Setting an NFT's metadata override: who may (from the index's view of the NFT), then the write. */
import type { ServiceDeps } from "../deps.js";
import type { Principal } from "../auth/principal.js";
import { conflict, forbidden, notFound, unprocessable } from "../../infra/errors.js";
import type { NftId } from "./ids.js";
import { type MetadataOverride, saveOverride } from "./metadata.js";
import { loadNft } from "./read.js";

/**
 * PUT /nfts/{id}/metadata (and GraphQL's updateNftMetadata): the current owner's wallet session or
 * an admin adds a version. Ownership is read from the index, uncached (the owner as of the latest
 * indexed block). `metadata` must already be valid against MetadataOverrideSchema.
 */
export async function setMetadataOverride(deps: ServiceDeps, principal: Principal, nft: NftId, metadata: MetadataOverride) {
  const size = Buffer.byteLength(JSON.stringify(metadata));
  if (size > deps.nft.overrideMaxBytes) throw unprocessable("METADATA_TOO_LARGE", `metadata is ${size} bytes, the limit is ${deps.nft.overrideMaxBytes}`);
  const current = await loadNft(deps, nft);
  if (!current) throw notFound("NFT_NOT_FOUND", `${nft.id} is not indexed`);
  if (!principal.roles.includes("admin")) {
    if (principal.kind !== "user") throw forbidden("USER_SESSION_REQUIRED", "only the owner's wallet session or an admin can set metadata");
    if (current.state !== "on_chain") throw conflict("NFT_IN_FLIGHT", "the NFT is being bridged; retry when it has arrived");
    if (current.owner !== principal.address) throw forbidden("NOT_OWNER", "only the current owner (or an admin) can set this NFT's metadata");
  }
  const row = await saveOverride(deps, nft, metadata, principal.kind === "user" ? principal.address : `apiKey:${principal.apiKeyId}`);
  return { id: nft.id, version: row.version, metadata: row.metadata, updatedBy: row.updatedBy, updatedAt: row.createdAt.toISOString() };
}
