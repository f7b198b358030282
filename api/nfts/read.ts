/**
 * GET /nfts/{id}: the token's omnichain view (index) + its metadata (off-chain store). `loadNft`
 * is the cacheable part (a pure function of the index checkpoint and the token's off-chain
 * version, see infra/cache.ts); `presentNft` adds what depends on the wall clock (stuck bridges).
 */
import { tokenIdOrigin } from "../../chain/onft.js";
import { cacheVersion, cached, indexerVersion } from "../../infra/cache.js";
import { chainByEid, requireIndexed } from "../chains/clients.js";
import type { RequestDeps } from "../http/context.js";
import { isDependencyError } from "../http/errors.js";
import { readTokenView } from "../indexed/tokens.js";
import { composeBridge } from "../bridge/status.js";
import { type NftId, checksum } from "./ids.js";
import { displayUrl, latestOverride, metadataBusy, readResolved, refreshOnchainMetadata, scope, thumbnailUrl } from "./metadata.js";

const CACHE_TTL_MS = 60_000;

export async function loadNft(deps: RequestDeps, nft: NftId) {
  const db = requireIndexed(deps);
  const [view, override, resolved] = await Promise.all([readTokenView(db, nft.collection, nft.tokenId), latestOverride(deps, nft), readResolved(deps, nft)]);
  if (!view) return undefined;
  const location = view.location;
  const onChain = location.status === "on_chain" ? location : undefined;
  const onchainMeta = resolved?.metadata ?? null;
  const merged = { ...(onchainMeta ?? {}), ...(override?.metadata ?? {}) };
  const overrideImage = override?.metadata.image;
  return {
    id: nft.id,
    collection: nft.collection,
    tokenId: nft.tokenId.toString(),
    originChainId: deps.network ? (chainByEid(deps.network, tokenIdOrigin(nft.tokenId))?.chainId ?? null) : null,
    state: location.status,
    chainId: onChain?.chainId ?? null,
    contract: onChain ? checksum(onChain.contract) : null,
    owner: onChain ? checksum(onChain.owner) : null,
    consistent: view.consistent,
    chains: view.chains.map((r) => ({
      chainId: r.chainId,
      contract: checksum(r.contract),
      owner: checksum(r.owner),
      state: r.state,
      updatedBlock: Number(r.updatedBlock),
    })),
    metadata: {
      onchain: resolved
        ? { status: resolved.error && !resolved.metadata ? "error" : "resolved", tokenUri: resolved.tokenUri, data: onchainMeta, error: resolved.error, fetchedAt: resolved.fetchedAt.toISOString(), chainId: resolved.chainId }
        : { status: "pending", tokenUri: null, data: null, error: null, fetchedAt: null, chainId: null },
      override: override ? { version: override.version, data: override.metadata, updatedBy: override.updatedBy, updatedAt: override.createdAt.toISOString() } : null,
      merged,
    },
    image: {
      original: displayUrl(deps, merged.image),
      // The thumbnail is of the on-chain image; an override image is shown as is.
      thumbnail: overrideImage && overrideImage !== resolved?.imageUrl ? null : thumbnailUrl(deps, resolved?.imageHash),
    },
    transfers: view.transfers.map((t) => ({
      chainId: t.chainId,
      kind: t.kind,
      from: checksum(t.from),
      to: checksum(t.to),
      txHash: t.txHash,
      blockNumber: Number(t.blockNumber),
      at: new Date(Number(t.timestamp) * 1000).toISOString(),
      guid: t.guid,
    })),
    // Halves of the latest bridge; composed with the clock in presentNft.
    lastBridge: view.bridges[0] ? { send: view.sends.find((s) => s.guid === view.bridges[0]!.guid), receive: view.receives.find((r) => r.guid === view.bridges[0]!.guid) } : null,
    /** For presentNft: where to read tokenURI when metadata was never resolved. */
    resolveOn: onChain && !resolved ? { chainId: onChain.chainId, contract: onChain.contract } : null,
  };
}

export type LoadedNft = NonNullable<Awaited<ReturnType<typeof loadNft>>>;

/**
 * Per-process memo in front of the shared cache, for as long as infra/cache.ts memoises the index
 * checkpoint (250 ms): hot NFTs are then served without any Redis round trip. Writes in this
 * process drop the entry at once (`forgetNft`); other replicas see them within 250 ms.
 *
 * An expired entry keeps answering while one background refresh runs (stale-while-revalidate), for
 * at most LOCAL_STALE_MS past its expiry: without that, every request arriving during the refresh
 * (three round trips: checkpoint, version, Redis) waited for it, four times a second — the p99 of
 * the hot path. So an answer is at most 250 ms + one refresh (≤ 1 s) behind the index or another
 * replica's write; a reorg is seen once the refreshed entry (keyed by the new checkpoint) lands.
 */
const LOCAL_TTL_MS = 250;
const LOCAL_STALE_MS = 1_000;
const LOCAL_MAX = 10_000;
type LocalEntry = { until: number; value: Promise<LoadedNft | undefined>; settled?: { value: LoadedNft | undefined }; refreshing: boolean };
/** One memo per app (its deps): two apps in one process (tests, replicas) never share entries. */
const memos = new WeakMap<RequestDeps, Map<string, LocalEntry>>();
function memoOf(deps: RequestDeps): Map<string, LocalEntry> {
  let memo = memos.get(deps);
  if (!memo) memos.set(deps, (memo = new Map()));
  return memo;
}

export function forgetNft(deps: RequestDeps, nft: NftId) {
  memoOf(deps).delete(nft.id);
}

const lastIndexVersion = new WeakMap<object, string>();

/**
 * The index checkpoint for cache keys. When the index database is unreachable (Postgres down), the
 * last version this process read: the index cannot advance while its database is down, so entries
 * cached at that version are still the latest answer and keep being served from Redis (a cache miss
 * then fails as usual: 503 DEPENDENCY_UNAVAILABLE).
 */
async function indexVersionForCache(deps: RequestDeps): Promise<string> {
  try {
    const version = await indexerVersion(deps.indexed);
    if (deps.indexed) lastIndexVersion.set(deps.indexed, version);
    return version;
  } catch (error) {
    const last = deps.indexed ? lastIndexVersion.get(deps.indexed) : undefined;
    if (last !== undefined && isDependencyError(error)) return last;
    throw error;
  }
}

function startLoad(deps: RequestDeps, nft: NftId): LocalEntry {
  const value = (async () =>
    await cached(deps.kv, ["nft", nft.id, await indexVersionForCache(deps), await cacheVersion(deps.kv, scope(nft))], CACHE_TTL_MS, () => loadNft(deps, nft)))();
  const entry: LocalEntry = { until: Date.now() + LOCAL_TTL_MS, value, refreshing: false };
  value.then(
    (v) => (entry.settled = { value: v }),
    () => {},
  );
  return entry;
}

/** The cached read (one line around loadNft), behind the per-process memo. */
export async function loadNftCached(deps: RequestDeps, nft: NftId): Promise<LoadedNft | undefined> {
  const local = memoOf(deps);
  const now = Date.now();
  const hit = local.get(nft.id);
  if (hit && hit.until > now) return await hit.value;
  if (hit?.settled && now - hit.until < LOCAL_STALE_MS) {
    if (!hit.refreshing) {
      hit.refreshing = true;
      const next = startLoad(deps, nft);
      // Installed only if no write dropped the entry meanwhile. A failed refresh is not retried
      // before the stale window ends (then a request loads in the foreground and sees the error).
      next.value.then(
        () => local.get(nft.id) === hit && local.set(nft.id, next),
        () => {},
      );
    }
    return hit.settled.value;
  }
  const entry = startLoad(deps, nft);
  if (local.size >= LOCAL_MAX) local.clear();
  local.set(nft.id, entry);
  try {
    return await entry.value;
  } catch (error) {
    if (local.get(nft.id) === entry) local.delete(nft.id);
    throw error;
  }
}

/**
 * `JSON.stringify(presentNft(...))`, memoised per loaded value for LOCAL_TTL_MS: a hot NFT is served
 * from the per-process memo as the same object, so its body is serialised once per 250 ms instead of
 * once per request. The clock-dependent part (a bridge flagged stuck after
 * BRIDGE_STUCK_AFTER_SECONDS) is then at most 250 ms late, like the rest of the answer.
 */
const presented = new WeakMap<LoadedNft, { until: number; json: string }>();
export function presentNftJson(deps: RequestDeps, nft: NftId, loaded: LoadedNft): string {
  const now = Date.now();
  const hit = presented.get(loaded);
  if (hit && hit.until > now) {
    if (loaded.resolveOn) void resolveInBackground(deps, nft, loaded.resolveOn);
    return hit.json;
  }
  const json = JSON.stringify(presentNft(deps, nft, loaded));
  presented.set(loaded, { until: now + LOCAL_TTL_MS, json });
  return json;
}

export function presentNft(deps: RequestDeps, nft: NftId, loaded: LoadedNft) {
  const { lastBridge, resolveOn, ...rest } = loaded;
  if (resolveOn) void resolveInBackground(deps, nft, resolveOn);
  return {
    ...rest,
    bridge: lastBridge ? composeBridge({ send: lastBridge.send, receive: lastBridge.receive, nowMs: Date.now(), stuckAfterSeconds: deps.nft.bridgeStuckAfterSeconds }) : null,
  };
}

/** First view of a token: resolve its tokenURI once in the background (one replica at a time). */
async function resolveInBackground(deps: RequestDeps, nft: NftId, where: { chainId: number; contract: string }) {
  try {
    // Under load (the bound full) a first view starts nothing; a later view tries again.
    if (metadataBusy(deps)) return;
    if (!(await deps.kv.setIfAbsent(`nft:resolving:${nft.id}`, "1", deps.nft.fetchTimeoutMs * 3 + 5000))) return;
    await refreshOnchainMetadata(deps, nft, where);
  } catch (error) {
    deps.logger.warn({ err: error, nft: nft.id }, "background metadata resolution failed");
  }
}
