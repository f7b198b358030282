/**
 * The per-process memo of NFT views in front of Redis (domain/nfts/read.ts fills it), and the one way
 * to drop an entry after a write (metadata re-resolved, an override saved): apart from the view so
 * writers need not import the reader.
 */
import type { ServiceDeps } from "../deps.js";
import type { NftId } from "./ids.js";

export const LOCAL_MAX = 10_000;

export type MemoEntry<T> = { startedAt: number; until: number; value: Promise<T | undefined>; settled?: { value: T | undefined }; refreshing: boolean };

/** One memo per app (its deps): two apps in one process (tests, replicas) never share entries. */
const memos = new WeakMap<ServiceDeps, Map<string, MemoEntry<unknown>>>();
export function nftMemoOf<T>(deps: ServiceDeps): Map<string, MemoEntry<T>> {
  let memo = memos.get(deps);
  if (!memo) memos.set(deps, (memo = new Map()));
  return memo as Map<string, MemoEntry<T>>;
}

/**
 * When each NFT was last written by this process, whatever the deps it was written through (a job
 * worker's are not the app's): a memo entry whose load started before is not used, so a metadata
 * re-resolution by a job in this process is seen at once by this process's routes too.
 */
const forgotten = new Map<string, number>();
export const current = <T>(id: string, entry: MemoEntry<T> | undefined) => (entry && entry.startedAt > (forgotten.get(id) ?? -1) ? entry : undefined);

export function forgetNft(deps: ServiceDeps, nft: NftId) {
  nftMemoOf(deps).delete(nft.id);
  if (forgotten.size >= LOCAL_MAX) forgotten.clear();
  forgotten.set(nft.id, Date.now());
}
