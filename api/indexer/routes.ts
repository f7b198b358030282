/**
 * The indexer's derived reads (`/indexer/*`, docs/indexer.md): one token across chains, an owner's
 * tokens, one bridge by guid, the activity feed, per-chain supply. Served by the REST app so they
 * get what every route gets (the global rate limit, request logs, metrics, the uniform errors);
 * before, src/api/index.ts served them beside the app, without any limit (security issue, item 7).
 */
import { isAddress } from "viem";
import { joinBridge } from "../../indexer/omnichain.js";
import { requireIndexed } from "../../domain/chains/clients.js";
import { badRequest, notFound } from "../http/errors.js";
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, errorResponses, jsonContent } from "../http/openapi.js";
import { toJson } from "../../domain/nfts/ids.js";
import { listActivity } from "../../read/activity.js";
import { bridgeByGuid } from "../../read/bridges.js";
import { listCollections, listOwnerRows, readTokenView } from "../../read/tokens.js";

function parseTokenId(raw: string): bigint | null {
  try {
    const id = BigInt(raw);
    return id >= 0n && id < 2n ** 256n ? id : null;
  } catch {
    return null;
  }
}

const Json = z.record(z.string(), z.unknown());
const tags = ["indexer"];
// Path and query values are checked in the handlers (their codes — INVALID_TOKEN_ID, INVALID_ADDRESS,
// INVALID_CHAIN — predate the OpenAPI declaration and clients rely on them).
const tokenRoute = createRoute({
  method: "get",
  path: "/indexer/tokens/{collection}/{tokenId}",
  tags,
  summary: "One NFT across chains, as indexed: where it lives now (or in flight between two chains), its per-chain rows, its bridges",
  request: {
    params: z.object({ collection: z.string().openapi({ example: "cosmic" }), tokenId: z.string().openapi({ description: "decimal or 0x-hex uint256" }) }),
  },
  responses: { 200: jsonContent(Json, "The token"), ...errorResponses(400, 404, 503) },
});
const ownerRoute = createRoute({
  method: "get",
  path: "/indexer/owners/{address}/tokens",
  tags,
  summary: "Index rows of the NFTs an address holds (present on a chain), at most 1,000, optionally on one chain",
  request: { params: z.object({ address: z.string() }), query: z.object({ chain: z.string().optional().openapi({ description: "a chain id" }) }) },
  responses: { 200: jsonContent(z.object({ items: z.array(Json) }), "The rows"), ...errorResponses(400, 503) },
});
const bridgeRoute = createRoute({
  method: "get",
  path: "/indexer/bridges/{guid}",
  tags,
  summary: "One bridge by LayerZero guid, as indexed: both halves, status and end-to-end latency (GET /bridge/{id} adds the lifecycle steps)",
  request: { params: z.object({ guid: z.string() }) },
  responses: { 200: jsonContent(Json, "The bridge"), ...errorResponses(404, 503) },
});
const activityRoute = createRoute({
  method: "get",
  path: "/indexer/activity",
  tags,
  summary: "The activity feed (mints, transfers, burns, bridge halves) after an order key, oldest first",
  request: {
    query: z.object({
      after: z.string().optional().openapi({ description: "orderKey of the last row read" }),
      limit: z.string().optional().openapi({ description: "1-200, default 50" }),
    }),
  },
  responses: { 200: jsonContent(z.object({ items: z.array(Json), nextCursor: z.string().nullable() }), "A page"), ...errorResponses(503) },
});
const collectionsRoute = createRoute({
  method: "get",
  path: "/indexer/collections",
  tags,
  summary: "Indexed collections with their deployments (per-chain supply counters)",
  responses: { 200: jsonContent(z.object({ items: z.array(Json) }), "The collections"), ...errorResponses(503) },
});

export function createIndexerRoutes() {
  const app = createRouter();

  app.openapi(tokenRoute, async (c) => {
    const { collection, tokenId: raw } = c.req.valid("param");
    const tokenId = parseTokenId(raw);
    if (tokenId === null) throw badRequest("INVALID_TOKEN_ID", "tokenId must be a decimal or 0x-hex uint256");
    const view = await readTokenView(requireIndexed(c.get("deps")), collection, tokenId, 0);
    if (!view) throw notFound("NOT_FOUND", "token not indexed");
    // The index's own rows: where it is, per-chain rows, its bridges (GET /nfts/{id} is the product's view of it).
    const { transfers: _t, firstTransfer: _f, sends: _s, receives: _r, ...token } = view;
    return c.json(toJson({ collection, tokenId, ...token }) as Record<string, unknown>, 200);
  });

  app.openapi(ownerRoute, async (c) => {
    const { address } = c.req.valid("param");
    if (!isAddress(address, { strict: false })) throw badRequest("INVALID_ADDRESS", "not an address");
    const { chain } = c.req.valid("query");
    const chainId = chain === undefined ? undefined : Number(chain);
    if (chainId !== undefined && !Number.isInteger(chainId)) throw badRequest("INVALID_CHAIN", "chain must be a chain id");
    const rows = await listOwnerRows(requireIndexed(c.get("deps")), address, { chainId, limit: 1000 });
    return c.json(toJson({ items: rows }) as { items: Record<string, unknown>[] }, 200);
  });

  app.openapi(bridgeRoute, async (c) => {
    const guid = c.req.valid("param").guid.toLowerCase() as `0x${string}`;
    const { send, receive } = await bridgeByGuid(requireIndexed(c.get("deps")), guid);
    if (!send && !receive) throw notFound("NOT_FOUND", "unknown guid");
    return c.json(toJson(joinBridge(send, receive)) as Record<string, unknown>, 200);
  });

  app.openapi(activityRoute, async (c) => {
    const { after, limit: rawLimit } = c.req.valid("query");
    const limit = Math.min(Math.max(Number(rawLimit ?? 50) || 50, 1), 200);
    const rows = await listActivity(requireIndexed(c.get("deps")), { after, limit });
    return c.json(
      toJson({ items: rows, nextCursor: rows.length === limit ? rows.at(-1)!.orderKey : null }) as {
        items: Record<string, unknown>[];
        nextCursor: string | null;
      },
      200,
    );
  });

  app.openapi(collectionsRoute, async (c) => {
    const items = await listCollections(requireIndexed(c.get("deps")));
    return c.json(toJson({ items }) as { items: Record<string, unknown>[] }, 200);
  });

  return app;
}
