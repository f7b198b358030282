/**
 * Resolvers of api/graphql/schema.graphql, each over the service its REST route uses: the NFT view
 * (loadNftsCached: merged metadata, thumbnail, location across chains, the same cache), owner pages,
 * GET /chains, the collection reads, the bridge lookup of GET /bridge/{id}, the events store, and
 * for mutations the same functions as POST /events/{id}/register, PUT /nfts/{id}/metadata and
 * POST /bridge. Errors are those services' ServiceErrors (the same codes), turned into GraphQL errors
 * by the server's error mask.
 */
import { getAddress, isAddress, zeroAddress } from "viem";
import { tokenIdOrigin } from "../../chain/onft.js";
import type { IndexerChain } from "../../indexer/setup.js";
import { findBridge } from "../../domain/bridge/lookup.js";
import { prepare } from "../../domain/bridge/prepare.js";
import { BridgePrepareBody } from "../bridge/routes.js";
import { chainByEid, chainById, requireNetwork } from "../../domain/chains/clients.js";
import { deploymentJson, profileJson } from "../collections/routes.js";
import { eventOrganizerId, eventView, registerAttendee } from "../events/routes.js";
import { findParticipant, listParticipants, type EventRow, type ParticipantRow } from "../../domain/events/store.js";
import { badRequest, forbidden, notFound, unprocessable } from "../http/errors.js";
import { validationFailure } from "../http/openapi.js";
import { checksum, formatNftId, parseNftId } from "../../domain/nfts/ids.js";
import { MetadataOverrideSchema } from "../../domain/nfts/metadata.js";
import { setMetadataOverride } from "../../domain/nfts/override.js";
import { ownerCursorOf, ownerNftPage } from "../../domain/nfts/owners.js";
import { type LoadedNft, presentNft } from "../../domain/nfts/read.js";
import type { GraphqlContext } from "./context.js";
import { graphql, scalars } from "./lib.js";

const { GraphQLScalarType, Kind } = graphql;
const { DateTimeResolver, JSONObjectResolver } = scalars;

type Ctx = GraphqlContext;
type Json = Record<string, unknown>;
type ChainObject = { id: number; name: string; eid: number; endpoint: string };

const invalid = (target: string, issues: { path: PropertyKey[]; message: string }[]) => {
  const { message } = validationFailure(target, { issues });
  return badRequest("VALIDATION_FAILED", message);
};

/** A wallet session (the REST routes' userPrincipal): API keys get 403 USER_SESSION_REQUIRED. */
async function userOf(ctx: Ctx) {
  const principal = await ctx.principal();
  if (principal.kind !== "user") throw forbidden("USER_SESSION_REQUIRED", "this field needs a wallet session, not an API key");
  return principal;
}

function chainObject(chain: IndexerChain): ChainObject {
  return { id: chain.chainId, name: chain.name, eid: chain.eid, endpoint: getAddress(chain.endpoint) };
}

/** A configured chain by id; a chain the server does not know (an old row) still answers with its id. */
function chainOf(ctx: Ctx, chainId: number): ChainObject {
  const chain = ctx.deps.network?.chains.find((c) => c.chainId === chainId);
  return chain ? chainObject(chain) : { id: chainId, name: `chain-${chainId}`, eid: 0, endpoint: zeroAddress };
}

function chainByRef(ctx: Ctx, ref: number | string): IndexerChain {
  const network = requireNetwork(ctx.deps);
  if (typeof ref === "number") return chainById(network, ref);
  const chain = network.chains.find((c) => c.name === ref);
  if (!chain) throw unprocessable("UNKNOWN_CHAIN", `chain "${ref}" is not a configured chain (${network.chains.map((c) => c.name).join(", ")})`);
  return chain;
}

function parseChainRef(v: unknown): number | string {
  if ((typeof v === "number" && Number.isInteger(v) && v > 0) || (typeof v === "string" && /^[\w-]{1,64}$/.test(v))) return v;
  throw new TypeError("ChainRef is a positive chain id or a chain name");
}

const ChainRef = new GraphQLScalarType<number | string, number | string>({
  name: "ChainRef",
  description: "A chain id (Int) or a configured chain name (String).",
  serialize: (v) => v as number | string,
  parseValue: parseChainRef,
  parseLiteral: (ast) => parseChainRef(ast.kind === Kind.INT ? Number(ast.value) : ast.kind === Kind.STRING ? ast.value : undefined),
});

function checkPage(first: number) {
  if (!Number.isInteger(first) || first < 1 || first > 200) throw invalid("arguments", [{ path: ["first"], message: "must be an integer between 1 and 200" }]);
}

async function ownerConnection(ctx: Ctx, args: { owner: string; chain?: number | string | null; first: number; after?: string | null }) {
  if (!isAddress(args.owner, { strict: false })) throw invalid("arguments", [{ path: ["owner"], message: "not an 0x-prefixed 20-byte address" }]);
  checkPage(args.first);
  const chainId = args.chain == null ? undefined : chainByRef(ctx, args.chain).chainId;
  const { rows, nextCursor } = await ownerNftPage(ctx.deps, args.owner, { chainId, cursor: args.after ?? undefined, limit: args.first });
  const nfts = await ctx.loaders.nft.loadMany(rows.map((r) => parseNftId(formatNftId(r.collection, r.tokenId))));
  const edges = rows.flatMap((r, i) => {
    const node = nfts[i];
    if (node instanceof Error) throw node;
    return node ? [{ cursor: ownerCursorOf(r), node }] : [];
  });
  return { edges, nodes: edges.map((e) => e.node), pageInfo: { hasNextPage: nextCursor !== null, endCursor: nextCursor } };
}

/** Where the NFT is, for the seed's non-null `chain` / `owner`: see schema.graphql. */
function placement(nft: LoadedNft): { chainId: number; owner: string } {
  if (nft.chainId !== null && nft.owner !== null) return { chainId: nft.chainId, owner: nft.owner };
  const send = nft.lastBridge?.send;
  if (nft.state === "in_flight" && send) return { chainId: send.dstChainId ?? send.chainId, owner: checksum(send.recipient) };
  const last = nft.chains.find((r) => r.state === "burned") ?? [...nft.chains].sort((a, b) => b.updatedBlock - a.updatedBlock)[0];
  return { chainId: last?.chainId ?? 0, owner: last?.owner ?? zeroAddress };
}

const str = (v: unknown) => (typeof v === "string" ? v : null);

function bridgeObject(ctx: Ctx, view: Json | null | undefined) {
  if (!view) return null;
  return {
    ...view,
    tokenId: view.tokenId == null ? null : BigInt(view.tokenId as string),
    srcChain: view.srcChainId == null ? null : chainOf(ctx, view.srcChainId as number),
    dstChain: view.dstChainId == null ? null : chainOf(ctx, view.dstChainId as number),
  };
}

function eventObject(row: EventRow) {
  return { ...eventView(row, { registered: row.registered, attended: 0, minted: 0 }), row };
}

const registration = (p: ParticipantRow) => ({ address: p.address, registeredAt: p.registeredAt, attendedAt: p.attendedAt });

async function loadEventOr404(ctx: Ctx, id: string): Promise<EventRow> {
  const row = await ctx.loaders.event.load(id);
  if (!row) throw notFound("EVENT_NOT_FOUND", "no such event");
  return row;
}

export const resolvers = {
  DateTime: DateTimeResolver,
  JSONObject: JSONObjectResolver,
  ChainRef,

  Query: {
    nft: async (_: unknown, args: { id: string }, ctx: Ctx) => (await ctx.loaders.nft.load(parseNftId(args.id))) ?? null,
    nftsByOwner: async (_: unknown, args: { owner: string; chain?: number | string; first: number; after?: string }, ctx: Ctx) =>
      (await ownerConnection(ctx, args)).nodes,
    nftsByOwnerConnection: (_: unknown, args: { owner: string; chain?: number | string; first: number; after?: string }, ctx: Ctx) =>
      ownerConnection(ctx, args),
    chains: (_: unknown, __: unknown, ctx: Ctx) => requireNetwork(ctx.deps).chains.map(chainObject),
    chain: (_: unknown, args: { id: number | string }, ctx: Ctx) => {
      const network = requireNetwork(ctx.deps);
      const chain = typeof args.id === "number" ? network.chains.find((c) => c.chainId === args.id) : network.chains.find((c) => c.name === args.id);
      return chain ? chainObject(chain) : null;
    },
    allCollections: (_: unknown, __: unknown, ctx: Ctx) => ctx.loaders.collections(),
    collectionBySlug: async (_: unknown, args: { slug: string }, ctx: Ctx) => (await ctx.loaders.collections()).find((c) => c.slug === args.slug) ?? null,
    bridge: async (_: unknown, args: { id: string }, ctx: Ctx) => {
      if (!/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-fA-F]{64})$/.test(args.id))
        throw invalid("arguments", [{ path: ["id"], message: "an operation id (uuid), a LayerZero guid or a source tx hash" }]);
      return bridgeObject(ctx, await findBridge(ctx.deps, args.id));
    },
    event: async (_: unknown, args: { id: string }, ctx: Ctx) => {
      const row = await ctx.loaders.event.load(args.id);
      return row ? eventObject(row) : null;
    },
    me: async (_: unknown, __: unknown, ctx: Ctx) => {
      const user = await userOf(ctx);
      const account = await ctx.deps.auth.getUser(user.address);
      if (!account) throw notFound("USER_NOT_FOUND", "user not found");
      return account;
    },
  },

  Mutation: {
    registerForEvent: async (_: unknown, args: { eventId: string }, ctx: Ctx) => {
      const user = await userOf(ctx);
      const event = await loadEventOr404(ctx, args.eventId);
      return (await registerAttendee(ctx.deps, ctx.c.get("log"), ctx.tickets, event, user.address)).ticket;
    },
    updateNftMetadata: async (_: unknown, args: { id: string; metadata: Json }, ctx: Ctx) => {
      const principal = await ctx.principal();
      const nft = parseNftId(args.id);
      const parsed = MetadataOverrideSchema.safeParse(args.metadata);
      if (!parsed.success) throw invalid("metadata", parsed.error.issues);
      return await setMetadataOverride(ctx.deps, principal, nft, parsed.data);
    },
    prepareBridge: async (_: unknown, args: { input: Json }, ctx: Ctx) => {
      const user = await userOf(ctx);
      const input = Object.fromEntries(Object.entries(args.input).filter(([, v]) => v != null));
      const parsed = BridgePrepareBody.safeParse(input);
      if (!parsed.success) throw invalid("input", parsed.error.issues);
      const body = parsed.data;
      return await prepare(
        ctx.deps,
        user.address,
        { collection: body.collection, tokenId: body.tokenId, srcChainId: body.srcChainId, dstChainId: body.dstChainId },
        getAddress(body.recipient ?? user.address),
      );
    },
  },

  NFT: {
    name: (n: LoadedNft) => str(n.metadata.merged.name) ?? `${n.collection} #${n.tokenId}`,
    description: (n: LoadedNft) => str(n.metadata.merged.description),
    image: (n: LoadedNft) => n.image.original,
    thumbnail: (n: LoadedNft) => n.image.thumbnail,
    chain: (n: LoadedNft, _: unknown, ctx: Ctx) => chainOf(ctx, placement(n).chainId),
    owner: (n: LoadedNft) => placement(n).owner,
    metadata: (n: LoadedNft) => n.metadata.merged,
    collection: async (n: LoadedNft, _: unknown, ctx: Ctx) => {
      const found = (await ctx.loaders.collections()).find((c) => c.slug === n.collection);
      if (!found) throw notFound("COLLECTION_NOT_FOUND", `no collection "${n.collection}"`);
      return found;
    },
    tokenId: (n: LoadedNft) => BigInt(n.tokenId),
    state: (n: LoadedNft) => n.state.toUpperCase(),
    originChain: (n: LoadedNft, _: unknown, ctx: Ctx) => {
      const chain = ctx.deps.network && chainByEid(ctx.deps.network, tokenIdOrigin(BigInt(n.tokenId)));
      return chain ? chainObject(chain) : null;
    },
    metadataSource: (n: LoadedNft) => ({
      status: n.metadata.onchain.status,
      tokenUri: n.metadata.onchain.tokenUri,
      error: n.metadata.onchain.error,
      fetchedAt: n.metadata.onchain.fetchedAt,
      overrideVersion: n.metadata.override?.version ?? null,
      overrideUpdatedBy: n.metadata.override?.updatedBy ?? null,
      overrideUpdatedAt: n.metadata.override?.updatedAt ?? null,
    }),
    // The REST view's `bridge` (presentNft also starts the first tokenURI resolution, as GET /nfts/{id} does).
    bridge: async (n: LoadedNft, _: unknown, ctx: Ctx) => bridgeObject(ctx, (await presentNft(ctx.deps, parseNftId(n.id), n)).bridge as Json | null),
    transfers: (n: LoadedNft) => n.transfers,
    tokens: (n: LoadedNft, _: unknown, ctx: Ctx) => ctx.loaders.tokenRows.load(parseNftId(n.id)),
  },

  Chain: {
    indexedBlock: async (ch: ChainObject, _: unknown, ctx: Ctx) => (await ctx.loaders.checkpoints()).find((cp) => cp.chainId === ch.id)?.block ?? null,
    headBlock: (ch: ChainObject, _: unknown, ctx: Ctx) => (ctx.deps.network?.chains.some((c) => c.chainId === ch.id) ? ctx.loaders.head.load(ch.id) : null),
    lagBlocks: async (ch: ChainObject, _: unknown, ctx: Ctx) => {
      const indexed = (await ctx.loaders.checkpoints()).find((cp) => cp.chainId === ch.id)?.block;
      const head = ctx.deps.network?.chains.some((c) => c.chainId === ch.id) ? await ctx.loaders.head.load(ch.id) : null;
      return head != null && indexed != null ? Math.max(0, head - indexed) : null;
    },
  },

  Collection: {
    homeChain: (col: { homeChainId: number }, _: unknown, ctx: Ctx) => chainOf(ctx, col.homeChainId),
    supply: (col: { deployments: { supply: number }[] }) => col.deployments.reduce((n, d) => n + d.supply, 0),
    deployments: (col: { deployments: Parameters<typeof deploymentJson>[0][] }, _: unknown, ctx: Ctx) =>
      col.deployments.map((d) => ({ ...deploymentJson(d), chain: chainOf(ctx, d.chainId) })),
    holders: async (col: { slug: string }, _: unknown, ctx: Ctx) => Number((await ctx.loaders.collectionStats.load(col.slug))?.holders ?? 0),
    profile: async (col: { slug: string }, _: unknown, ctx: Ctx) => profileJson(await ctx.loaders.profiles.load(col.slug)),
  },

  Event: {
    counts: async (e: { id: string; row: EventRow }, _: unknown, ctx: Ctx) => ({ ...(await ctx.loaders.eventCounts.load(e.id)), registered: e.row.registered }),
    myRegistration: async (e: { id: string }, _: unknown, ctx: Ctx) => {
      const user = await userOf(ctx);
      const p = await findParticipant(ctx.deps.store.db, e.id, user.address);
      return p ? registration(p) : null;
    },
    attendees: async (e: { row: EventRow }, _: unknown, ctx: Ctx) => {
      eventOrganizerId(await ctx.principal(), e.row);
      return (await listParticipants(ctx.deps.store.db, e.row.id)).slice(0, 1000).map(registration);
    },
  },

  Account: {
    nfts: async (a: { address: string }, args: { chain?: number | string; first: number; after?: string }, ctx: Ctx) =>
      await ownerConnection(ctx, { owner: a.address, ...args }),
  },
};
