/**
 * Per-request GraphQL context: the request's deps, its caller (authenticated on first use, with the
 * same Bearer JWT / API key checks as REST), and DataLoaders so that N fields of one kind in a
 * request cost one batch (N `nft` fields → one `loadNftsCached`: memo hits from memory, the rest
 * with one SQL query per table).
 */
import { and, eq, or } from "drizzle-orm";
import type { Context } from "hono";
import { readIndexerCheckpoints } from "../../read/checkpoints.js";
import { publicClientFor, requireIndexed } from "../../domain/chains/clients.js";
import { chainHead } from "../chains/routes.js";
import { profiles } from "../collections/routes.js";
import { eventCounts, findEvent } from "../../domain/events/store.js";
import type { TicketKeys } from "../../domain/events/tickets.js";
import type { AppEnv, Principal, RequestDeps } from "../http/context.js";
import { authenticate } from "../http/middleware.js";
import { type TokenRow, listCollections, readCollectionStats } from "../../read/tokens.js";
import { indexedTables as t } from "../../read/db.js";
import type { NftId } from "../../domain/nfts/ids.js";
import { type LoadedNft, loadNftsCached } from "../../domain/nfts/read.js";
import { DataLoader } from "./lib.js";
import type { PonderContext } from "./ponder.js";

export type GraphqlContext = PonderContext & {
  c: Context<AppEnv>;
  deps: RequestDeps;
  tickets: TicketKeys;
  /** The caller: 401 (UNAUTHENTICATED, TOKEN_INVALID, ...) when there are no valid credentials. */
  principal(): Promise<Principal>;
  loaders: ReturnType<typeof createLoaders>;
};

const once = <T>(fn: () => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
};

export function createLoaders(deps: RequestDeps) {
  return {
    /** NFT views by id, through the REST cache (loadNftsCached), one batch per tick. */
    nft: new DataLoader<NftId, LoadedNft | undefined, string>((ids) => loadNftsCached(deps, [...ids]), { cacheKeyFn: (n) => n.id }),
    /** The per-chain index rows of NFTs (the generated `token` type), one query per batch. */
    tokenRows: new DataLoader<NftId, TokenRow[], string>(
      async (ids) => {
        const rows = await requireIndexed(deps)
          .select()
          .from(t.token)
          .where(or(...ids.map((n) => and(eq(t.token.collection, n.collection), eq(t.token.tokenId, n.tokenId)))));
        return ids.map((n) => rows.filter((r) => r.collection === n.collection && r.tokenId === n.tokenId).sort((a, b) => a.chainId - b.chainId));
      },
      { cacheKeyFn: (n) => n.id },
    ),
    checkpoints: once(async () => (deps.indexed ? await readIndexerCheckpoints(deps.indexed).catch(() => []) : [])),
    head: new DataLoader<number, number | null>((ids) => Promise.all(ids.map((id) => chainHead(publicClientFor(deps, id))))),
    collections: once(() => listCollections(requireIndexed(deps))),
    collectionStats: new DataLoader<string, Awaited<ReturnType<typeof readCollectionStats>>>((slugs) =>
      Promise.all(slugs.map((s) => readCollectionStats(requireIndexed(deps), s))),
    ),
    profiles: new DataLoader<string, Awaited<ReturnType<typeof profiles>>[number] | undefined>(async (slugs) => {
      const rows = await profiles(deps, [...slugs]);
      return slugs.map((s) => rows.find((p) => p.slug === s));
    }),
    event: new DataLoader<string, Awaited<ReturnType<typeof findEvent>>>((ids) => Promise.all(ids.map((id) => findEvent(deps.store.db, id)))),
    eventCounts: new DataLoader<string, { registered: number; attended: number; minted: number }>(async (ids) => {
      const counts = await eventCounts(deps.store.db, [...ids]);
      return ids.map((id) => counts.get(id)!);
    }),
  };
}

export function createContext(c: Context<AppEnv>, tickets: TicketKeys, ponder: PonderContext): GraphqlContext {
  const deps = c.get("deps");
  let loaders: ReturnType<typeof createLoaders> | undefined;
  return {
    ...ponder,
    c,
    deps,
    tickets,
    principal: once(async () => {
      const principal = await authenticate(c);
      c.set("principal", principal); // the access log names the caller, as on REST
      return principal;
    }),
    // Built on first use: most requests need a few of them, none of them for `{ __typename }`.
    get loaders() {
      return (loaders ??= createLoaders(deps));
    },
  };
}
