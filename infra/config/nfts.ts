/**
 * Section metadata: tokenURI resolution, thumbnails, overrides and the ERC-4906 follower
 * (docs/nfts.md), read once by app/deps.ts (tests build them with `nftSettings({...})`).
 */
import path from "node:path";
import { z } from "zod";
import { bool, int, list, parseSection, text } from "./parse.js";

export type NftSettings = {
  /** Gateway for `ipfs://` URIs: `<gateway><cid>/<path>`. */
  ipfsGateway: string;
  fetchTimeoutMs: number;
  /** Largest metadata JSON fetched from a tokenURI. */
  metadataMaxBytes: number;
  /** Largest image fetched for a thumbnail. */
  imageMaxBytes: number;
  /** Largest off-chain metadata override (PUT /nfts/{id}/metadata), serialized. */
  overrideMaxBytes: number;
  /** Per-token cooldown of POST /nfts/{id}/metadata/refresh. */
  refreshCooldownSeconds: number;
  /** tokenURI resolutions (fetch + image decode) running at once in this process, whatever the token. */
  metadataMaxConcurrent: number;
  /** Resolutions waiting for a slot; beyond, a refresh answers 503 METADATA_BUSY and a first view does not start one. */
  metadataMaxQueued: number;
  /**
   * Requests per second to one metadata host (tokenURI JSON, images, the IPFS gateway) by
   * re-resolutions in jobs (collection refresh, ERC-4906 follow-ups), across every process sharing
   * the key-value store.
   */
  metadataRefreshRatePerSecond: number;
  /** Follow the index's ERC-4906 announcements (MetadataUpdate / BatchMetadataUpdate) and re-resolve the tokens. */
  metadataFollow: boolean;
  /** The follower's tick interval while no index commit notification can wake it. */
  metadataFollowPollMs: number;
  /** Folder of the content-addressed thumbnail store. */
  mediaDir: string;
  thumbnailSize: number;
  /** `host:port` origins exempt from the SSRF address check (development fixtures only). */
  fetchAllowHosts: string[];
  /** Public base URL of this API, to build absolute thumbnail URLs (relative when unset). */
  publicBaseUrl: string | undefined;
};

export const metadataEnv = z.object({
  IPFS_GATEWAY: z
    .string()
    .regex(/^https?:\/\/.+\/$/, "must be an http(s) URL ending with /")
    .default("https://ipfs.io/ipfs/"),
  METADATA_FETCH_TIMEOUT_MS: int(5000, 100),
  METADATA_MAX_BYTES: int(256 * 1024, 1024),
  METADATA_IMAGE_MAX_BYTES: int(10 * 1024 * 1024, 1024),
  METADATA_OVERRIDE_MAX_BYTES: int(16 * 1024, 256),
  METADATA_REFRESH_COOLDOWN_SECONDS: int(60, 0),
  METADATA_MAX_CONCURRENT: int(4, 1, 256),
  METADATA_MAX_QUEUED: int(16, 0, 10_000),
  THUMBNAIL_SIZE: int(256, 16),
  METADATA_REFRESH_RATE_PER_SECOND: int(5, 1, 1000),
  METADATA_FOLLOW: bool(true),
  METADATA_FOLLOW_POLL_MS: int(500, 10),
  METADATA_FETCH_ALLOW_HOSTS: list(true),
  /** Default `$DATA_DIR/media`. */
  MEDIA_DIR: text(),
  PUBLIC_BASE_URL: text(),
});

export function loadNftSettings(env: NodeJS.ProcessEnv, dataDir: string): NftSettings {
  const e = parseSection(metadataEnv, env);
  return {
    ipfsGateway: e.IPFS_GATEWAY,
    fetchTimeoutMs: e.METADATA_FETCH_TIMEOUT_MS,
    metadataMaxBytes: e.METADATA_MAX_BYTES,
    imageMaxBytes: e.METADATA_IMAGE_MAX_BYTES,
    overrideMaxBytes: e.METADATA_OVERRIDE_MAX_BYTES,
    refreshCooldownSeconds: e.METADATA_REFRESH_COOLDOWN_SECONDS,
    metadataMaxConcurrent: e.METADATA_MAX_CONCURRENT,
    metadataMaxQueued: e.METADATA_MAX_QUEUED,
    mediaDir: path.resolve(e.MEDIA_DIR ?? path.join(dataDir, "media")),
    thumbnailSize: e.THUMBNAIL_SIZE,
    metadataRefreshRatePerSecond: e.METADATA_REFRESH_RATE_PER_SECOND,
    metadataFollow: e.METADATA_FOLLOW,
    metadataFollowPollMs: e.METADATA_FOLLOW_POLL_MS,
    fetchAllowHosts: e.METADATA_FETCH_ALLOW_HOSTS,
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/$/, ""),
  };
}

/** The defaults (an empty environment through the schema): the one place they are written is `metadataEnv`. */
export const NFT_DEFAULTS = Object.freeze((({ mediaDir: _m, fetchAllowHosts: _f, publicBaseUrl: _p, ...rest }) => rest)(loadNftSettings({}, ".data")));

export function nftSettings(overrides: Partial<NftSettings> & { dataDir?: string } = {}): NftSettings {
  const { dataDir, ...rest } = overrides;
  return {
    ...NFT_DEFAULTS,
    mediaDir: path.resolve(dataDir ?? ".data", "media"),
    fetchAllowHosts: [],
    publicBaseUrl: undefined,
    ...rest,
  };
}
