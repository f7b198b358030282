/** NFT (metadata) and bridge settings from the environment: defaults, overrides, one clear error for bad values. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadBridgeSettings } from "../../infra/config/bridge.js";
import { NFT_DEFAULTS, loadNftSettings } from "../../infra/config/nfts.js";
import { ConfigError } from "../../infra/config/index.js";

describe("loadNftSettings", () => {
  it("defaults", () => {
    const s = loadNftSettings({}, "/data");
    expect(s).toMatchObject({ ...NFT_DEFAULTS, mediaDir: path.resolve("/data/media"), fetchAllowHosts: [], publicBaseUrl: undefined });
  });

  it("reads every variable", () => {
    const s = loadNftSettings(
      {
        IPFS_GATEWAY: "https://gw.example/ipfs/",
        METADATA_FETCH_TIMEOUT_MS: "1500",
        METADATA_MAX_BYTES: "2048",
        METADATA_IMAGE_MAX_BYTES: "4096",
        METADATA_OVERRIDE_MAX_BYTES: "1024",
        METADATA_REFRESH_COOLDOWN_SECONDS: "0",
        METADATA_MAX_CONCURRENT: "3",
        METADATA_MAX_QUEUED: "0",
        METADATA_FETCH_ALLOW_HOSTS: "127.0.0.1:8080, Fixture.local:80",
        MEDIA_DIR: "/srv/media",
        THUMBNAIL_SIZE: "128",
        PUBLIC_BASE_URL: "https://api.example/",
        METADATA_REFRESH_RATE_PER_SECOND: "2",
        METADATA_FOLLOW: "0",
        METADATA_FOLLOW_POLL_MS: "250",
      },
      "/data",
    );
    expect(s).toEqual({
      ipfsGateway: "https://gw.example/ipfs/",
      fetchTimeoutMs: 1500,
      metadataMaxBytes: 2048,
      imageMaxBytes: 4096,
      overrideMaxBytes: 1024,
      refreshCooldownSeconds: 0,
      metadataMaxConcurrent: 3,
      metadataMaxQueued: 0,
      fetchAllowHosts: ["127.0.0.1:8080", "fixture.local:80"],
      mediaDir: "/srv/media",
      thumbnailSize: 128,
      publicBaseUrl: "https://api.example",
      metadataRefreshRatePerSecond: 2,
      metadataFollow: false,
      metadataFollowPollMs: 250,
    });
  });

  it("reads every bridge variable (section bridge)", () => {
    const env = {
      BRIDGE_STUCK_AFTER_SECONDS: "60",
      BRIDGE_PROGRESS_STALE_SECONDS: "9",
      BRIDGE_ESTIMATE_TTL_SECONDS: "5",
      BRIDGE_FEE_MARGIN_BPS: "0",
      BRIDGE_DEFAULT_LZ_RECEIVE_GAS: "120000",
    };
    expect(loadBridgeSettings(env)).toEqual({
      stuckAfterSeconds: 60,
      progressStaleSeconds: 9,
      estimateTtlSeconds: 5,
      feeMarginBps: 0,
      defaultLzReceiveGas: 120_000,
    });
  });

  it("rejects bad values with the variable's name", () => {
    expect(() => loadBridgeSettings({ BRIDGE_STUCK_AFTER_SECONDS: "soon" })).toThrow(ConfigError);
    expect(() => loadBridgeSettings({ BRIDGE_STUCK_AFTER_SECONDS: "0" })).toThrow(/BRIDGE_STUCK_AFTER_SECONDS/);
    expect(() => loadNftSettings({ IPFS_GATEWAY: "ftp://x/" }, "/d")).toThrow(/IPFS_GATEWAY/);
    expect(() => loadNftSettings({ IPFS_GATEWAY: "https://gw.example/ipfs" }, "/d")).toThrow(/IPFS_GATEWAY/);
    expect(() => loadNftSettings({ METADATA_REFRESH_RATE_PER_SECOND: "0" }, "/d")).toThrow(/METADATA_REFRESH_RATE_PER_SECOND/);
    expect(() => loadNftSettings({ METADATA_FOLLOW: "maybe" }, "/d")).toThrow(/METADATA_FOLLOW/);
  });
});
