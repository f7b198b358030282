/**
 * Settings of the NFT, metadata and bridge services, read once from the environment by app/deps.ts
 * (tests build them with `nftSettings({...})`). Defaults suit production; see docs/nfts.md.
 */
import path from "node:path";
import { z } from "zod";
import { DEFAULT_LZ_RECEIVE_GAS } from "../../chain/onft.js";
import { ConfigError, configIssues, envInt } from "../../infra/config.js";

export type NftSettings = {
  /** A bridge in flight longer than this is reported `stuck` (and counted in the stuck gauge). */
  bridgeStuckAfterSeconds: number;
  /** A bridge's progress is `stale` when the tracker has not read its destination chain for this long. */
  bridgeProgressStaleSeconds: number;
  /** How long a fee quote is cached (Redis) and announced as valid (`expiresAt`). */
  bridgeEstimateTtlSeconds: number;
  /** Margin added to the quoted fee in a prepared transaction's `value`, in basis points (LayerZero refunds the excess). */
  bridgeFeeMarginBps: number;
  /**
   * lzReceive gas a send carries when its collection enforces no options on the pathway (0: refuse
   * such a send with NO_EXECUTOR_OPTIONS). Collections with enforced options send none.
   */
  bridgeDefaultLzReceiveGas: number;
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

export const NFT_DEFAULTS = {
  bridgeStuckAfterSeconds: 900,
  bridgeProgressStaleSeconds: 30,
  bridgeEstimateTtlSeconds: 15,
  bridgeFeeMarginBps: 1000,
  bridgeDefaultLzReceiveGas: DEFAULT_LZ_RECEIVE_GAS,
  ipfsGateway: "https://ipfs.io/ipfs/",
  fetchTimeoutMs: 5000,
  metadataMaxBytes: 256 * 1024,
  imageMaxBytes: 10 * 1024 * 1024,
  overrideMaxBytes: 16 * 1024,
  refreshCooldownSeconds: 60,
  metadataMaxConcurrent: 4,
  metadataMaxQueued: 16,
  thumbnailSize: 256,
  metadataRefreshRatePerSecond: 5,
  metadataFollow: true,
  metadataFollowPollMs: 500,
} as const;

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

export function loadNftSettings(env: NodeJS.ProcessEnv, dataDir: string): NftSettings {
  const parsed = z
    .object({
      BRIDGE_STUCK_AFTER_SECONDS: envInt(NFT_DEFAULTS.bridgeStuckAfterSeconds, 1),
      BRIDGE_PROGRESS_STALE_SECONDS: envInt(NFT_DEFAULTS.bridgeProgressStaleSeconds, 1),
      BRIDGE_ESTIMATE_TTL_SECONDS: envInt(NFT_DEFAULTS.bridgeEstimateTtlSeconds, 1),
      BRIDGE_FEE_MARGIN_BPS: envInt(NFT_DEFAULTS.bridgeFeeMarginBps, 0),
      BRIDGE_DEFAULT_LZ_RECEIVE_GAS: envInt(NFT_DEFAULTS.bridgeDefaultLzReceiveGas, 0),
      METADATA_FETCH_TIMEOUT_MS: envInt(NFT_DEFAULTS.fetchTimeoutMs, 100),
      METADATA_MAX_BYTES: envInt(NFT_DEFAULTS.metadataMaxBytes, 1024),
      METADATA_IMAGE_MAX_BYTES: envInt(NFT_DEFAULTS.imageMaxBytes, 1024),
      METADATA_OVERRIDE_MAX_BYTES: envInt(NFT_DEFAULTS.overrideMaxBytes, 256),
      METADATA_REFRESH_COOLDOWN_SECONDS: envInt(NFT_DEFAULTS.refreshCooldownSeconds, 0),
      METADATA_MAX_CONCURRENT: envInt(NFT_DEFAULTS.metadataMaxConcurrent, 1, 256),
      METADATA_MAX_QUEUED: envInt(NFT_DEFAULTS.metadataMaxQueued, 0, 10_000),
      THUMBNAIL_SIZE: envInt(NFT_DEFAULTS.thumbnailSize, 16),
      METADATA_REFRESH_RATE_PER_SECOND: envInt(NFT_DEFAULTS.metadataRefreshRatePerSecond, 1, 1000),
      METADATA_FOLLOW_POLL_MS: envInt(NFT_DEFAULTS.metadataFollowPollMs, 10),
      METADATA_FOLLOW: z.enum(["0", "1", "true", "false"]).default("1"),
    })
    .safeParse(env);
  if (!parsed.success) throw new ConfigError(configIssues(parsed.error));
  const gateway = env.IPFS_GATEWAY ?? NFT_DEFAULTS.ipfsGateway;
  if (!/^https?:\/\/.+\/$/.test(gateway)) throw new ConfigError(`IPFS_GATEWAY must be an http(s) URL ending with / (got "${gateway}")`);
  const p = parsed.data;
  return {
    bridgeStuckAfterSeconds: p.BRIDGE_STUCK_AFTER_SECONDS,
    bridgeProgressStaleSeconds: p.BRIDGE_PROGRESS_STALE_SECONDS,
    bridgeEstimateTtlSeconds: p.BRIDGE_ESTIMATE_TTL_SECONDS,
    bridgeFeeMarginBps: p.BRIDGE_FEE_MARGIN_BPS,
    bridgeDefaultLzReceiveGas: p.BRIDGE_DEFAULT_LZ_RECEIVE_GAS,
    ipfsGateway: gateway,
    fetchTimeoutMs: p.METADATA_FETCH_TIMEOUT_MS,
    metadataMaxBytes: p.METADATA_MAX_BYTES,
    imageMaxBytes: p.METADATA_IMAGE_MAX_BYTES,
    overrideMaxBytes: p.METADATA_OVERRIDE_MAX_BYTES,
    refreshCooldownSeconds: p.METADATA_REFRESH_COOLDOWN_SECONDS,
    metadataMaxConcurrent: p.METADATA_MAX_CONCURRENT,
    metadataMaxQueued: p.METADATA_MAX_QUEUED,
    mediaDir: path.resolve(env.MEDIA_DIR ?? path.join(dataDir, "media")),
    thumbnailSize: p.THUMBNAIL_SIZE,
    metadataRefreshRatePerSecond: p.METADATA_REFRESH_RATE_PER_SECOND,
    metadataFollow: p.METADATA_FOLLOW === "1" || p.METADATA_FOLLOW === "true",
    metadataFollowPollMs: p.METADATA_FOLLOW_POLL_MS,
    fetchAllowHosts: (env.METADATA_FETCH_ALLOW_HOSTS ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    publicBaseUrl: env.PUBLIC_BASE_URL?.replace(/\/$/, ""),
  };
}
