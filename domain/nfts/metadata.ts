/**
 * NFT metadata: the on-chain tokenURI resolved (and its image thumbnailed) into
 * `nft_metadata_resolved`, and off-chain overrides kept as versions in `nft_metadata_versions`.
 * The API shows both and their merge (override fields win).
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, or, sql } from "drizzle-orm";
import type { Address } from "viem";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { MetadataFetchError } from "../../chain/metadata/fetch.js";
import type { Pacer } from "../../chain/metadata/pace.js";
import { thumbnailFromUri } from "../../chain/metadata/images.js";
import { gatewayUrl, resolveMetadata } from "../../chain/metadata/resolve.js";
import { bumpCacheVersion } from "../../infra/cache.js";
import { nftMetadataResolved, nftMetadataVersions } from "../../offchain/tables/nfts.js";
import { publicClientFor } from "../chains/clients.js";
import type { ServiceDeps } from "../deps.js";
import pLimit, { type LimitFunction } from "p-limit";
import { ServiceError, conflict } from "../../infra/errors.js";
import type { NftSettings } from "../../infra/config/nfts.js";
import type { NftId } from "./ids.js";
import { forgetNft } from "./memo.js";

const uri = z
  .string()
  .max(2048)
  .regex(/^(https?:\/\/|ipfs:\/\/|ar:\/\/|data:image\/)/, "must be an http(s)://, ipfs://, ar:// or data:image/ URI");

/** ERC-721 metadata JSON (OpenSea conventions). Unknown keys are refused so typos do not pass silently. */
export const MetadataOverrideSchema = z
  .object({
    name: z.string().max(200).optional(),
    description: z.string().max(10_000).optional(),
    image: uri.optional(),
    external_url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//, "must be an http(s) URL")
      .optional(),
    animation_url: uri.optional(),
    background_color: z
      .string()
      .regex(/^[0-9a-fA-F]{6}$/, "six hex digits without #")
      .optional(),
    attributes: z
      .array(
        z
          .object({
            trait_type: z.string().max(100).optional(),
            value: z.union([z.string().max(500), z.number().finite(), z.boolean()]),
            display_type: z.enum(["number", "boost_number", "boost_percentage", "date"]).optional(),
            max_value: z.number().finite().optional(),
          })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict()
  .refine((m) => Object.keys(m).length > 0, "metadata must set at least one field")
  .openapi("NftMetadata");

export type MetadataOverride = z.infer<typeof MetadataOverrideSchema>;

export const scope = (nft: NftId) => `nft:${nft.id}`;

/** The latest override of each NFT (one query whatever their number), keyed by NFT id. */
export async function latestOverrides(deps: ServiceDeps, nfts: NftId[]) {
  const out = new Map<string, typeof nftMetadataVersions.$inferSelect>();
  if (nfts.length === 0) return out;
  const v = nftMetadataVersions;
  const rows = await deps.store.db
    .selectDistinctOn([v.collection, v.tokenId])
    .from(v)
    .where(or(...nfts.map((n) => and(eq(v.collection, n.collection), eq(v.tokenId, n.tokenId.toString())))))
    .orderBy(v.collection, v.tokenId, desc(v.version));
  for (const row of rows) out.set(`${row.collection}:${row.tokenId}`, row);
  return out;
}

export async function overrideHistory(deps: ServiceDeps, nft: NftId, limit = 50) {
  return await deps.store.db
    .select()
    .from(nftMetadataVersions)
    .where(and(eq(nftMetadataVersions.collection, nft.collection), eq(nftMetadataVersions.tokenId, nft.tokenId.toString())))
    .orderBy(desc(nftMetadataVersions.version))
    .limit(limit);
}

/** Appends a version (max + 1); two concurrent writers cannot both get the same version (primary key). */
export async function saveOverride(deps: ServiceDeps, nft: NftId, metadata: MetadataOverride, updatedBy: string) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [row] = await deps.store.db
      .insert(nftMetadataVersions)
      .values({
        collection: nft.collection,
        tokenId: nft.tokenId.toString(),
        version: sql`(SELECT coalesce(max(version), 0) + 1 FROM offchain.nft_metadata_versions WHERE collection = ${nft.collection} AND token_id = ${nft.tokenId.toString()})`,
        metadata: metadata as Record<string, unknown>,
        updatedBy,
      })
      .onConflictDoNothing()
      .returning();
    if (row) {
      await bumpCacheVersion(deps.kv, scope(nft));
      forgetNft(deps, nft);
      return row;
    }
  }
  throw conflict("METADATA_WRITE_CONFLICT", "concurrent metadata updates, retry");
}

/** The resolved on-chain metadata of each NFT (one query), keyed by NFT id. */
export async function readResolvedMany(deps: ServiceDeps, nfts: NftId[]) {
  const out = new Map<string, typeof nftMetadataResolved.$inferSelect>();
  if (nfts.length === 0) return out;
  const r = nftMetadataResolved;
  const rows = await deps.store.db
    .select()
    .from(r)
    .where(or(...nfts.map((n) => and(eq(r.collection, n.collection), eq(r.tokenId, n.tokenId.toString())))));
  for (const row of rows) out.set(`${row.collection}:${row.tokenId}`, row);
  return out;
}

/**
 * The process-wide bound on tokenURI resolutions (p-limit): the per-token cooldown does not stop
 * many tokens being refreshed (or first viewed) at once, each an outbound fetch of up to
 * METADATA_IMAGE_MAX_BYTES and an image decode of up to 50 MP.
 */
const limiters = new WeakMap<NftSettings, LimitFunction>();
const limiterOf = (s: NftSettings) => {
  let limit = limiters.get(s);
  if (!limit) limiters.set(s, (limit = pLimit(s.metadataMaxConcurrent)));
  return limit;
};
/**
 * Jobs' resolutions (collection refresh, ERC-4906 follow-ups) have a bound of their own, of the same
 * size: paced towards their host they sleep inside their slots, which must not starve the routes.
 */
const jobLimiters = new WeakMap<NftSettings, LimitFunction>();
const jobLimiterOf = (s: NftSettings) => {
  let limit = jobLimiters.get(s);
  if (!limit) jobLimiters.set(s, (limit = pLimit(s.metadataMaxConcurrent)));
  return limit;
};

/** True when no resolution may start or wait now (METADATA_MAX_CONCURRENT running, METADATA_MAX_QUEUED waiting). */
export function metadataBusy(deps: ServiceDeps): boolean {
  const limit = limiterOf(deps.nft);
  return limit.activeCount + limit.pendingCount >= deps.nft.metadataMaxConcurrent + deps.nft.metadataMaxQueued;
}

export const metadataBusyError = () =>
  new ServiceError("unavailable", "METADATA_BUSY", "too many metadata resolutions in progress, retry later", { retryAfterSeconds: 5 });

/**
 * Reads tokenURI on the chain holding the token, resolves it, thumbnails its image, stores the
 * outcome (including a failure reason: a broken URI is a fact to show, not a server error).
 * Runs under the process-wide bound; throws METADATA_BUSY (503) when it is full.
 */
export async function refreshOnchainMetadata(deps: ServiceDeps, nft: NftId, where: { chainId: number; contract: string }, options: RefreshOptions = {}) {
  if (options.job) return await jobLimiterOf(deps.nft)(() => resolveAndStore(deps, nft, where, options.pace));
  if (metadataBusy(deps)) throw metadataBusyError();
  return await limiterOf(deps.nft)(() => resolveAndStore(deps, nft, where, options.pace));
}

export type RefreshOptions = {
  /** A job's resolution: waits for a slot of the jobs' bound (never METADATA_BUSY; the job's own concurrency bounds the wait). */
  job?: boolean;
  /** Paces each outbound request towards its host (chain/metadata/pace.ts). */
  pace?: Pacer;
};

export type ResolvedRow = typeof nftMetadataResolved.$inferSelect;

async function resolveAndStore(deps: ServiceDeps, nft: NftId, where: { chainId: number; contract: string }, pace: Pacer | undefined) {
  const s = deps.nft;
  const options = { ipfsGateway: s.ipfsGateway, timeoutMs: s.fetchTimeoutMs, maxBytes: s.metadataMaxBytes, allowHosts: s.fetchAllowHosts, pace };
  let tokenUri: string | null = null;
  let metadata: Record<string, unknown> | null = null;
  let error: string | null = null;
  let imageUrl: string | null = null;
  let imageHash: string | null = null;
  try {
    tokenUri = await publicClientFor(deps, where.chainId).readContract({
      address: where.contract as Address,
      abi: CosmicONFT721Abi,
      functionName: "tokenURI",
      args: [nft.tokenId],
    });
    metadata = await resolveMetadata(tokenUri, options);
    if (typeof metadata.image === "string" && metadata.image) {
      imageUrl = metadata.image;
      try {
        imageHash = await thumbnailFromUri({ dir: s.mediaDir, size: s.thumbnailSize }, metadata.image, { ...options, maxBytes: s.imageMaxBytes });
      } catch (e) {
        error = `image: ${e instanceof MetadataFetchError ? `${e.code}: ${e.message}` : "could not process"}`;
      }
    }
  } catch (e) {
    error =
      e instanceof MetadataFetchError
        ? `${e.code}: ${e.message}`
        : `TOKEN_URI_UNREADABLE: ${(e as { shortMessage?: string }).shortMessage ?? "tokenURI call failed"}`;
  }
  const values = { chainId: where.chainId, tokenUri, metadata, error: error?.slice(0, 500) ?? null, imageUrl, imageHash, fetchedAt: new Date() };
  const [row] = await deps.store.db
    .insert(nftMetadataResolved)
    .values({ collection: nft.collection, tokenId: nft.tokenId.toString(), ...values })
    .onConflictDoUpdate({ target: [nftMetadataResolved.collection, nftMetadataResolved.tokenId], set: values })
    .returning();
  await bumpCacheVersion(deps.kv, scope(nft));
  forgetNft(deps, nft);
  return row!;
}

/** Public URL of a stored thumbnail. */
export function thumbnailUrl(deps: ServiceDeps, hash: string | null | undefined): string | null {
  if (!hash) return null;
  return `${deps.nft.publicBaseUrl ?? ""}/nfts/images/${hash}.webp`;
}

/** An image URI as a browser-loadable URL (ipfs through the gateway). */
export function displayUrl(deps: ServiceDeps, image: unknown): string | null {
  if (typeof image !== "string" || !image) return null;
  try {
    return gatewayUrl(image, deps.nft.ipfsGateway);
  } catch {
    return null;
  }
}
