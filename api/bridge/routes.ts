/** Bridge routes: fee estimate, prepare (unsigned tx), report tx, status by operation id / guid / tx hash, history. */
import { createRoute, z } from "@hono/zod-openapi";
import { type Hex, getAddress } from "viem";
import { requireIndexed } from "../../domain/chains/clients.js";
import { forbidden, notFound } from "../http/errors.js";
import { requireAuth, userPrincipal } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { bridgeByGuid, bridgeHistory, receivesFor } from "../../read/bridges.js";
import { AddressParam, PageQuery, decodeCursor, encodeCursor } from "../../domain/nfts/ids.js";
import { findBridge, findHalves, findOperation, presentBridge, progressOf } from "../../domain/bridge/lookup.js";
import { bridgeNotFound, retryBridge } from "../../domain/bridge/retry.js";
import { estimate, prepare, reportTransaction } from "../../domain/bridge/prepare.js";

const Json = z.record(z.string(), z.unknown());
const TokenIdQ = z
  .string()
  .regex(/^(\d{1,78}|0x[0-9a-fA-F]{1,64})$/, "a decimal or 0x-hex uint256")
  .transform((v) => BigInt(v));
const Slug = z.string().regex(/^[a-z0-9-]{1,64}$/);
const Hash32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

const Wei = z.string().regex(/^\d+$/).openapi({ description: "wei, decimal" });
const OptionsSchema = z.object({ hex: z.string(), lzReceiveGas: z.string(), lzReceiveValue: z.string() }).nullable();
const EstimateSchema = z
  .object({
    nativeFee: Wei.openapi({ description: "quoteSend's native fee: what the send must pay (wei)" }),
    lzTokenFee: Wei,
    symbol: z.string(),
    expiresAt: z.string(),
    srcChainId: z.number(),
    dstChainId: z.number(),
    dstEid: z.number(),
    extraOptions: z.string().openapi({ description: "the send's extraOptions: 0x when the collection enforces options" }),
    options: z.object({ enforced: OptionsSchema, sent: OptionsSchema }),
    breakdown: z
      .object({
        executor: z.object({ address: z.string(), fee: Wei }),
        dvns: z.array(z.object({ address: z.string(), required: z.boolean(), fee: Wei })),
        treasury: z.object({ address: z.string().nullable(), fee: Wei }),
        total: Wei,
        matchesQuote: z.boolean(),
      })
      .openapi({ description: "each worker's public getFee for this send; sums to nativeFee when matchesQuote" }),
    confirmations: z.number().openapi({ description: "source block confirmations the pathway's DVNs wait for" }),
  })
  .openapi("BridgeEstimate");
const estimateRoute = createRoute({
  method: "get",
  path: "/bridge/estimate",
  tags: ["bridge"],
  summary: "LayerZero fee quote (quoteSend on the source chain) for a token and route, with its breakdown by worker",
  request: {
    query: z.object({
      collection: Slug,
      tokenId: TokenIdQ,
      srcChain: z.coerce.number().int().positive(),
      dstChain: z.coerce.number().int().positive(),
      to: AddressParam.optional(),
    }),
  },
  responses: {
    200: jsonContent(EstimateSchema, "Quote"),
    ...errorResponses(400, 404, 422, 503),
  },
});

const TxSchema = z.object({ to: z.string(), data: z.string(), value: z.string(), chainId: z.number() });
/** POST /bridge's body (GraphQL's prepareBridge input is validated with it too). */
export const BridgePrepareBody = z
  .object({
    collection: Slug,
    tokenId: TokenIdQ,
    srcChainId: z.number().int().positive(),
    dstChainId: z.number().int().positive(),
    recipient: AddressParam.optional().openapi({ description: "default: the sender" }),
  })
  .strict()
  .openapi("BridgePrepareRequest");

const prepareRoute = createRoute({
  method: "post",
  path: "/bridge",
  tags: ["bridge"],
  summary: "Prepare a bridge: fee and the unsigned send transaction for the owner's wallet; tracked by operation id",
  security: [BEARER],
  middleware: [requireAuth] as const,
  request: {
    body: jsonBody(BridgePrepareBody),
  },
  responses: {
    201: jsonContent(
      z
        .object({
          operationId: z.string(),
          status: z.literal("PREPARED"),
          createdAt: z.string(),
          fee: Json,
          transaction: TxSchema,
          approval: TxSchema.nullable(),
        })
        .openapi("PreparedBridge"),
      "Prepared: sign `approval` first when present, then `transaction`",
    ),
    ...errorResponses(400, 401, 403, 404, 422, 503),
  },
});

const OperationParam = z.object({
  operationId: z
    .string()
    .regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0x[0-9a-fA-F]{64})$/, "an operation id (uuid), a LayerZero guid or a source tx hash")
    .openapi({ param: { name: "operationId", in: "path" } }),
});

const reportRoute = createRoute({
  method: "post",
  path: "/bridge/{operationId}/tx",
  tags: ["bridge"],
  summary: "Report the signed send's tx hash: links the operation at once (receipt read from the chain)",
  security: [BEARER],
  middleware: [requireAuth] as const,
  request: { params: OperationParam, body: jsonBody(z.object({ txHash: Hash32 }).strict()) },
  responses: { 200: jsonContent(Json.openapi("Bridge"), "The operation"), ...errorResponses(400, 401, 403, 404, 422, 503) },
});

const statusRoute = createRoute({
  method: "get",
  path: "/bridge/{operationId}",
  tags: ["bridge"],
  summary: "Bridge status by operation id, LayerZero guid or source tx hash: steps, latency, verification, stuck, fees quoted and paid",
  request: { params: OperationParam },
  responses: { 200: jsonContent(Json.openapi("Bridge"), "The bridge"), ...errorResponses(400, 404, 503) },
});

const retryRoute = createRoute({
  method: "post",
  path: "/bridge/{operationId}/retry",
  tags: ["bridge"],
  summary:
    "Recover a verified but undelivered bridge (FAILED, or stuck waiting for the executor): the unsigned transaction(s) that deliver it, commit first when needed",
  description:
    "The sender, the recipient or an admin. 409 when there is nothing to retry (not verified yet, already delivered) or when delivering would still revert.",
  security: [BEARER, API_KEY],
  middleware: [requireAuth] as const,
  request: { params: OperationParam },
  responses: {
    200: jsonContent(
      z
        .object({
          operationId: z.string().nullable(),
          guid: z.string(),
          action: z.enum(["execute", "commit_and_execute"]),
          failedGas: z.string().nullable(),
          transactions: z.array(TxSchema.extend({ gas: z.string() })).openapi({ description: "sign and send in order (the commit, then the delivery)" }),
        })
        .openapi("BridgeRetry"),
      "The transactions that deliver it",
    ),
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

const historyRoute = createRoute({
  method: "get",
  path: "/bridge/history/{address}",
  tags: ["bridge"],
  summary: "Bridges sent or received by an address, newest first",
  request: { params: z.object({ address: AddressParam }), query: z.object(PageQuery) },
  responses: { 200: jsonContent(z.object({ items: z.array(Json), nextCursor: z.string().nullable() }), "A page"), ...errorResponses(400, 503) },
});

const isHistoryCursor = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && v[0].length < 100 && typeof v[1] === "string" && /^0x[0-9a-f]{64}$/.test(v[1]);

export function createBridgeRoutes() {
  const app = createRouter();

  app.openapi(estimateRoute, async (c) => {
    const q = c.req.valid("query");
    const {
      checked: _checked,
      holder: _holder,
      ...quote
    } = await estimate(
      c.get("deps"),
      { collection: q.collection, tokenId: q.tokenId, srcChainId: q.srcChain, dstChainId: q.dstChain },
      q.to ? getAddress(q.to) : undefined,
    );
    return c.json(quote, 200);
  });

  app.openapi(historyRoute, async (c) => {
    const deps = c.get("deps");
    const db = requireIndexed(deps);
    const { address } = c.req.valid("param");
    const { cursor, limit } = c.req.valid("query");
    const before = cursor ? (([orderKey, guid]) => ({ orderKey, guid }))(decodeCursor(cursor, isHistoryCursor)) : undefined;
    const sends = await bridgeHistory(db, address, { before, limit: limit + 1 });
    const page = sends.slice(0, limit);
    const [receives, progress] = await Promise.all([
      receivesFor(
        db,
        page.map((s) => s.guid),
      ),
      progressOf(
        deps,
        page.map((s) => s.guid),
      ),
    ]);
    const me = address.toLowerCase();
    const items = page.map((s) => ({
      direction: s.fromAddress === me ? (s.recipient === me ? "self" : "sent") : "received",
      ...presentBridge(
        deps,
        s,
        receives.find((r) => r.guid === s.guid),
        undefined,
        progress.get(s.guid.toLowerCase()),
      ),
    }));
    const last = page.at(-1);
    return c.json({ items, nextCursor: sends.length > limit && last ? encodeCursor([last.orderKey, last.guid]) : null }, 200);
  });

  app.openapi(prepareRoute, async (c) => {
    const principal = userPrincipal(c);
    const body = c.req.valid("json");
    const result = await prepare(
      c.get("deps"),
      principal.address,
      { collection: body.collection, tokenId: body.tokenId, srcChainId: body.srcChainId, dstChainId: body.dstChainId },
      getAddress(body.recipient ?? principal.address),
    );
    return c.json(result, 201);
  });

  app.openapi(reportRoute, async (c) => {
    const deps = c.get("deps");
    const principal = userPrincipal(c);
    const op = await findOperation(deps, c.req.valid("param").operationId);
    if (!op) throw notFound("BRIDGE_NOT_FOUND", "no such bridge operation");
    if (op.address !== principal.address) throw forbidden("NOT_OPERATION_OWNER", "this operation was prepared by another address");
    const linked = await reportTransaction(deps, op, c.req.valid("json").txHash.toLowerCase() as Hex);
    const halves = deps.indexed && linked.guid ? await bridgeByGuid(deps.indexed.db, linked.guid) : { send: undefined, receive: undefined };
    const progress = await progressOf(deps, [linked.guid]);
    return c.json(presentBridge(deps, halves.send, halves.receive, linked, linked.guid ? progress.get(linked.guid.toLowerCase()) : undefined), 200);
  });

  app.openapi(retryRoute, async (c) => {
    const deps = c.get("deps");
    const { op, send, receive } = await findHalves(deps, c.req.valid("param").operationId);
    if (!op && !send) throw bridgeNotFound();
    return c.json(await retryBridge(deps, c.get("principal"), send, receive, op?.id ?? null), 200);
  });

  app.openapi(statusRoute, async (c) => {
    const bridge = await findBridge(c.get("deps"), c.req.valid("param").operationId);
    if (!bridge) throw notFound("BRIDGE_NOT_FOUND", "no bridge with that operation id, guid or tx hash");
    return c.json(bridge, 200);
  });

  return app;
}
