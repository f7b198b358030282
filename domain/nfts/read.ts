/**
 * GET /nfts/{id}: the token's omnichain view (index) + its metadata (off-chain store). `loadNft`
 * is the cacheable part (a pure function of the index checkpoint and the token's off-chain
 * version, see infra/cache.ts); `presentNft` adds what depends on the wall clock (stuck bridges).
 */
import { tokenIdOrigin } from "../../chain/onft.js";
import { cacheVersion, cachedMany } from "../../infra/cache.js";
import { indexerVersion } from "../../read/checkpoints.js";
import { chainByEid, requireIndexed } from "../chains/clients.js";
import type { RequestDeps, ServiceDeps } from "../deps.js";
import { isDependencyError } from "../../infra/errors.js";
import { type TokenView, readTokenViews, tokenKey } from "../../read/tokens.js";
import { progressOf } from "../bridge/lookup.js";
import { composeBridge } from "../bridge/status.js";
import { type NftId, checksum } from "./ids.js";
import { LOCAL_MAX, type MemoEntry, current, nftMemoOf } from "./memo.js";
import { displayUrl, latestOverrides, metadataBusy, readResolvedMany, refreshOnchainMetadata, scope, thumbnailUrl } from "./metadata.js";

const CACHE_TTL_MS = 60_000;

/** One NFT's view (index + off-chain), uncached; undefined when never indexed. */
export async function loadNft(deps: ServiceDeps, nft: NftId) {
  return (await loadNfts(deps, [nft]))[0];
}

/**
 * The views of several NFTs with one query per table (index: tokens, sends, transfers, receives;
 * off-chain: overrides, resolved metadata), in the order asked; undefined where never indexed.
 */
export async function loadNfts(deps: ServiceDeps, nfts: NftId[]) {
  const db = requireIndexed(deps);
  const [views, overrides, resolvedAll] = await Promise.all([readTokenViews(db, nfts), latestOverrides(deps, nfts), readResolvedMany(deps, nfts)]);
  return nfts.map((nft) => {
    const view = views.get(tokenKey(nft.collection, nft.tokenId));
    if (!view) return undefined;
    return nftView(deps, nft, view, overrides.get(nft.id), resolvedAll.get(nft.id));
  });
}

type Override = Awaited<ReturnType<typeof latestOverrides>> extends Map<string, infer V> ? V : never;
type Resolved = Awaited<ReturnType<typeof readResolvedMany>> extends Map<string, infer V> ? V : never;

function nftView(deps: ServiceDeps, nft: NftId, view: TokenView, override: Override | undefined, resolved: Resolved | undefined) {
  const location = view.location;
  const onChain = location.status === "on_chain" ? location : undefined;
  const onchainMeta = resolved?.metadata ?? null;
  const merged = { ...(onchainMeta ?? {}), ...(override?.metadata ?? {}) };
  const overrideImage = override?.metadata.image;
  // Last change: of the index (any chain's row, a send, a receive) or of the override.
  const indexChanged = Math.max(
    ...view.chains.map((r) => Number(r.updatedTimestamp)),
    ...view.sends.map((x) => Number(x.timestamp)),
    ...view.receives.map((x) => Number(x.deliveredTimestamp ?? x.failedTimestamp ?? 0)),
    0,
  );
  const created = view.firstTransfer ? Number(view.firstTransfer.timestamp) : Math.min(...view.chains.map((r) => Number(r.updatedTimestamp)), indexChanged);
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
    /** Block time of the token's first transfer (its mint). */
    createdAt: new Date(created * 1000).toISOString(),
    /** Latest of: block time of its last indexed change, time of its latest metadata override. */
    updatedAt: new Date(Math.max(indexChanged * 1000, override?.createdAt.getTime() ?? 0)).toISOString(),
    chains: view.chains.map((r) => ({
      chainId: r.chainId,
      contract: checksum(r.contract),
      owner: checksum(r.owner),
      state: r.state,
      updatedBlock: Number(r.updatedBlock),
    })),
    metadata: {
      onchain: resolved
        ? {
            status: resolved.error && !resolved.metadata ? "error" : "resolved",
            tokenUri: resolved.tokenUri,
            data: onchainMeta,
            error: resolved.error,
            fetchedAt: resolved.fetchedAt.toISOString(),
            chainId: resolved.chainId,
          }
        : { status: "pending", tokenUri: null, data: null, error: null, fetchedAt: null, chainId: null },
      override: override
        ? { version: override.version, data: override.metadata, updatedBy: override.updatedBy, updatedAt: override.createdAt.toISOString() }
        : null,
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
    lastBridge: view.bridges[0]
      ? { send: view.sends.find((s) => s.guid === view.bridges[0]!.guid), receive: view.receives.find((r) => r.guid === view.bridges[0]!.guid) }
      : null,
    /** For presentNft: where to read tokenURI when metadata was never resolved. */
    resolveOn: onChain && !resolved ? { chainId: onChain.chainId, contract: onChain.contract } : null,
  };
}

export type LoadedNft = ReturnType<typeof nftView>;

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
type LocalEntry = MemoEntry<LoadedNft>;
const memoOf = (deps: ServiceDeps) => nftMemoOf<LoadedNft>(deps);

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

/**
 * Starts the cached loads of several NFTs: one index checkpoint read (memoised), one Redis read per
 * key, and one batched `loadNfts` (one query per table) for every key Redis did not have.
 */
function startLoads(deps: RequestDeps, nfts: NftId[]): LocalEntry[] {
  const startedAt = Date.now();
  const loaded = (async () => {
    const [index, versions] = await Promise.all([indexVersionForCache(deps), Promise.all(nfts.map((nft) => cacheVersion(deps.kv, scope(nft))))]);
    const keys = nfts.map((nft, i) => ["nft", nft.id, index, versions[i]] as const);
    return await cachedMany(
      deps.kv,
      keys,
      CACHE_TTL_MS,
      (missing) =>
        loadNfts(
          deps,
          missing.map((i) => nfts[i]!),
        ),
      "nft",
    );
  })();
  const until = Date.now() + LOCAL_TTL_MS;
  return nfts.map((_, i) => {
    const value = loaded.then((all) => all[i]);
    const entry: LocalEntry = { startedAt, until, value, refreshing: false };
    value.then(
      (v) => (entry.settled = { value: v }),
      () => {},
    );
    return entry;
  });
}

const startLoad = (deps: RequestDeps, nft: NftId): LocalEntry => startLoads(deps, [nft])[0]!;

/** The cached read (one line around loadNft), behind the per-process memo. */
export async function loadNftCached(deps: RequestDeps, nft: NftId): Promise<LoadedNft | undefined> {
  const local = memoOf(deps);
  const now = Date.now();
  const hit = current(nft.id, local.get(nft.id));
  if (hit && hit.until > now) return await hit.value;
  if (hit?.settled && now - hit.until < LOCAL_STALE_MS) return revalidate(deps, nft, hit);
  const entry = startLoad(deps, nft);
  if (local.size >= LOCAL_MAX) local.clear();
  local.set(nft.id, entry);
  return await settle(local, nft, entry);
}

/**
 * `loadNftCached` of several NFTs (the GraphQL DataLoader's batch): memo hits answer from memory,
 * and every other one is loaded together by one `startLoads` (one query per table on a cache miss).
 */
export async function loadNftsCached(deps: RequestDeps, nfts: NftId[]): Promise<(LoadedNft | undefined)[]> {
  const local = memoOf(deps);
  const now = Date.now();
  const answers: (Promise<LoadedNft | undefined> | LoadedNft | undefined)[] = new Array(nfts.length);
  const missing: number[] = [];
  nfts.forEach((nft, i) => {
    const hit = current(nft.id, local.get(nft.id));
    if (hit && hit.until > now) answers[i] = hit.value;
    else if (hit?.settled && now - hit.until < LOCAL_STALE_MS) answers[i] = revalidate(deps, nft, hit);
    else missing.push(i);
  });
  if (missing.length) {
    const entries = startLoads(
      deps,
      missing.map((i) => nfts[i]!),
    );
    if (local.size + missing.length >= LOCAL_MAX) local.clear();
    missing.forEach((i, k) => {
      local.set(nfts[i]!.id, entries[k]!);
      answers[i] = settle(local, nfts[i]!, entries[k]!);
    });
  }
  return await Promise.all(answers);
}

/** A stale memo entry answers at once while one background refresh replaces it. */
function revalidate(deps: RequestDeps, nft: NftId, hit: LocalEntry): LoadedNft | undefined {
  const local = memoOf(deps);
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
  return hit.settled!.value;
}

async function settle(local: Map<string, LocalEntry>, nft: NftId, entry: LocalEntry): Promise<LoadedNft | undefined> {
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
const presented = new WeakMap<LoadedNft, { until: number; json: Promise<string> }>();
export function presentNftJson(deps: RequestDeps, nft: NftId, loaded: LoadedNft): Promise<string> {
  const now = Date.now();
  const hit = presented.get(loaded);
  if (hit && hit.until > now) {
    if (loaded.resolveOn) void resolveInBackground(deps, nft, loaded.resolveOn);
    return hit.json;
  }
  const json = presentNft(deps, nft, loaded).then((body) => JSON.stringify(body));
  presented.set(loaded, { until: now + LOCAL_TTL_MS, json });
  json.catch(() => presented.delete(loaded));
  return json;
}

/**
 * The NFT with its latest bridge as GET /bridge/{id} shows it: a bridge in flight takes the
 * tracker's progress (one off-chain read, only for an NFT in flight), so both say the same status.
 */
export async function presentNft(deps: RequestDeps, nft: NftId, loaded: LoadedNft) {
  const { lastBridge, resolveOn, ...rest } = loaded;
  if (resolveOn) void resolveInBackground(deps, nft, resolveOn);
  const guid = lastBridge?.send?.guid.toLowerCase();
  const progress = guid && lastBridge?.receive?.status !== "DELIVERED" ? (await progressOf(deps, [guid])).get(guid) : undefined;
  return {
    ...rest,
    bridge: lastBridge
      ? composeBridge({ send: lastBridge.send, receive: lastBridge.receive, progress, nowMs: Date.now(), stuckAfterSeconds: deps.bridge.stuckAfterSeconds })
      : null,
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
