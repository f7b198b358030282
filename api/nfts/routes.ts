/** NFT routes: read one NFT, an owner's NFTs across chains, mint, metadata overrides/refresh, thumbnails. */
import { createRoute, z } from "@hono/zod-openapi";
import { readThumbnail } from "../../chain/metadata/images.js";
import { conflict, notFound, tooManyRequests } from "../http/errors.js";
import { requireAuth, requireRole } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { AddressParam, NftIdParam, PageQuery, checksum, formatNftId, parseNftId } from "../../domain/nfts/ids.js";
import { ownerNftPage } from "../../domain/nfts/owners.js";
import { MetadataOverrideSchema, metadataBusy, metadataBusyError, overrideHistory, refreshOnchainMetadata, thumbnailUrl } from "../../domain/nfts/metadata.js";
import { setMetadataOverride } from "../../domain/nfts/override.js";
import { mint } from "../../domain/nfts/mint.js";
import { enqueueMint, prefersAsync } from "../../jobs/mintAsync.js";
import type { JobQueue } from "../../jobs/types.js";
import { EnqueuedSchema } from "../events/schemas.js";
import { jobView } from "../jobs/routes.js";
import { announcePush } from "../../realtime/publish.js";
import { metadataPush } from "../../realtime/nftPushes.js";
import { loadNft, loadNftCached, presentNftJson } from "../../domain/nfts/read.js";

const Json = z.record(z.string(), z.unknown());
const NftSchema = z
  .object({
    id: z.string().openapi({ example: "cosmic:922337203685477580801" }),
    collection: z.string(),
    tokenId: z.string(),
    originChainId: z.number().nullable(),
    state: z.enum(["on_chain", "in_flight", "gone", "unknown"]),
    chainId: z.number().nullable(),
    contract: z.string().nullable(),
    owner: z.string().nullable(),
    consistent: z.boolean(),
    createdAt: z.string().openapi({ description: "block time of the token's first transfer (its mint)" }),
    updatedAt: z.string().openapi({ description: "the later of its last indexed change and its latest metadata override" }),
    chains: z.array(Json),
    metadata: z.object({ onchain: Json, override: Json.nullable(), merged: Json }),
    image: z.object({ original: z.string().nullable(), thumbnail: z.string().nullable() }),
    transfers: z.array(Json),
    bridge: Json.nullable(),
  })
  .openapi("Nft");

const getNft = createRoute({
  method: "get",
  path: "/nfts/{id}",
  tags: ["nfts"],
  summary: "One NFT: chain, owner, state (incl. in flight), metadata (on-chain + override), images, last transfers, bridge state",
  request: { params: NftIdParam },
  responses: { 200: jsonContent(NftSchema, "The NFT"), ...errorResponses(400, 404, 503) },
});

const OwnedSchema = z
  .object({ id: z.string(), collection: z.string(), tokenId: z.string(), chainId: z.number(), contract: z.string(), owner: z.string() })
  .openapi("OwnedNft");
const ownerNfts = createRoute({
  method: "get",
  path: "/nfts/owner/{address}",
  tags: ["nfts"],
  summary: "NFTs currently owned by an address across chains (stable order: chain, contract, token id)",
  request: {
    params: z.object({ address: AddressParam }),
    query: z.object({ chain: z.coerce.number().int().positive().optional(), ...PageQuery }),
  },
  responses: { 200: jsonContent(z.object({ items: z.array(OwnedSchema), nextCursor: z.string().nullable() }), "A page"), ...errorResponses(400, 503) },
});

const MintBody = z
  .object({
    collection: z.string().regex(/^[a-z0-9-]{1,64}$/),
    chainId: z.number().int().positive(),
    recipients: z.array(AddressParam).min(1).max(200).openapi({ description: "one token per entry; several entries mint in one mintBatch" }),
  })
  .strict()
  .openapi("MintRequest");
const MintResult = z
  .object({
    mintId: z.string(),
    collection: z.string(),
    chainId: z.number(),
    contract: z.string(),
    txHash: z.string(),
    blockNumber: z.number(),
    tokens: z.array(z.object({ id: z.string(), tokenId: z.string(), to: z.string() })),
  })
  .openapi("MintResult");
const postNft = createRoute({
  method: "post",
  path: "/nfts",
  tags: ["nfts"],
  summary:
    "Mint on a chain with the server's minter key (role minter or an API key with it); Idempotency-Key makes retries safe. `Prefer: respond-async`: 202 with a mint-nfts job at once (Location: /jobs/{id}; stages queued → sent → mined / failed)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("minter")] as const,
  request: {
    headers: z.object({
      "idempotency-key": z
        .string()
        .regex(/^[\w.:-]{1,255}$/, "1-255 characters of [A-Za-z0-9_.:-]")
        .optional(),
      prefer: z
        .string()
        .max(1000)
        .optional()
        .openapi({ description: "`respond-async`: answer 202 with a job instead of waiting for the receipt", example: "respond-async" }),
    }),
    body: jsonBody(MintBody),
  },
  responses: {
    201: jsonContent(MintResult, "Minted (confirmed on chain)"),
    200: jsonContent(MintResult, "Replay of an earlier request with the same Idempotency-Key"),
    202: jsonContent(EnqueuedSchema, "Prefer: respond-async — the mint job (a replay with the same Idempotency-Key: the same job, `created: false`)"),
    ...errorResponses(400, 401, 403, 404, 409, 422, 503),
  },
});

const putMetadata = createRoute({
  method: "put",
  path: "/nfts/{id}/metadata",
  tags: ["nfts"],
  summary: "Set the off-chain metadata override (current owner by wallet session, or admin); adds a version",
  security: [BEARER, API_KEY],
  middleware: [requireAuth] as const,
  request: { params: NftIdParam, body: jsonBody(MetadataOverrideSchema) },
  responses: {
    200: jsonContent(z.object({ id: z.string(), version: z.number(), metadata: Json, updatedBy: z.string(), updatedAt: z.string() }), "Stored"),
    ...errorResponses(400, 401, 403, 404, 409, 422, 503),
  },
});

const metadataHistory = createRoute({
  method: "get",
  path: "/nfts/{id}/metadata/history",
  tags: ["nfts"],
  summary: "Override versions, newest first",
  request: { params: NftIdParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(z.object({ version: z.number(), metadata: Json, updatedBy: z.string(), updatedAt: z.string() })) }), "Versions"),
    ...errorResponses(400, 503),
  },
});

const refreshMetadata = createRoute({
  method: "post",
  path: "/nfts/{id}/metadata/refresh",
  tags: ["nfts"],
  summary: "Re-resolve the on-chain tokenURI now (per-token cooldown; 503 METADATA_BUSY when the process-wide bound on resolutions is full)",
  request: { params: NftIdParam },
  responses: {
    200: jsonContent(z.object({ onchain: Json, image: z.object({ thumbnail: z.string().nullable() }) }), "Resolved (or the resolution error)"),
    ...errorResponses(400, 404, 409, 429, 503),
  },
});

const image = createRoute({
  method: "get",
  path: "/nfts/images/{file}",
  tags: ["nfts"],
  summary: "A cached thumbnail (content-addressed, immutable)",
  request: { params: z.object({ file: z.string().regex(/^[0-9a-f]{64}\.webp$/) }) },
  responses: {
    200: { description: "WebP image", content: { "image/webp": { schema: z.string().openapi({ format: "binary" }) } } },
    ...errorResponses(400, 404),
  },
});

export function createNftRoutes(options: { jobs?: JobQueue } = {}) {
  const app = createRouter();

  app.openapi(image, async (c) => {
    const deps = c.get("deps");
    const hash = c.req.valid("param").file.slice(0, 64);
    const bytes = await readThumbnail({ dir: deps.nft.mediaDir, size: deps.nft.thumbnailSize }, hash);
    if (!bytes) throw notFound("IMAGE_NOT_FOUND", "no such thumbnail");
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": "image/webp",
      "cache-control": "public, max-age=31536000, immutable",
      etag: `"${hash}"`,
    }) as never;
  });

  app.openapi(ownerNfts, async (c) => {
    const { address } = c.req.valid("param");
    const { chain, cursor, limit } = c.req.valid("query");
    const { rows, nextCursor } = await ownerNftPage(c.get("deps"), address, { chainId: chain, cursor, limit });
    return c.json(
      {
        items: rows.map((r) => ({
          id: formatNftId(r.collection, r.tokenId),
          collection: r.collection,
          tokenId: r.tokenId.toString(),
          chainId: r.chainId,
          contract: checksum(r.contract),
          owner: checksum(r.owner),
        })),
        nextCursor,
      },
      200,
    );
  });

  app.openapi(getNft, async (c) => {
    const deps = c.get("deps");
    const nft = parseNftId(c.req.valid("param").id);
    const loaded = await loadNftCached(deps, nft);
    if (!loaded) throw notFound("NFT_NOT_FOUND", `${nft.id} is not indexed`);
    // The serialised answer, memoised with the per-process memo (presentNftJson); plain JSON values.
    return c.body(await presentNftJson(deps, nft, loaded), 200, { "content-type": "application/json" }) as never;
  });

  app.openapi(postNft, async (c) => {
    const deps = c.get("deps");
    const headers = c.req.valid("header");
    c.header("Vary", "Prefer");
    if (prefersAsync(headers.prefer)) {
      const { job, created } = await enqueueMint(deps, options.jobs, c.get("principal"), c.req.valid("json"), headers["idempotency-key"]);
      c.header("Preference-Applied", "respond-async");
      c.header("Location", `/jobs/${job.id}`);
      if (!created) c.header("Idempotent-Replayed", "true");
      return c.json({ job: jobView(job), created }, 202);
    }
    const { result, replayed } = await mint(deps, c.get("principal"), c.req.valid("json"), headers["idempotency-key"]);
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(result, replayed ? 200 : 201);
  });

  app.openapi(putMetadata, async (c) => {
    const nft = parseNftId(c.req.valid("param").id);
    return c.json(await setMetadataOverride(c.get("deps"), c.get("principal"), nft, c.req.valid("json")), 200);
  });

  app.openapi(metadataHistory, async (c) => {
    const nft = parseNftId(c.req.valid("param").id);
    const rows = await overrideHistory(c.get("deps"), nft);
    return c.json(
      { items: rows.map((r) => ({ version: r.version, metadata: r.metadata, updatedBy: r.updatedBy, updatedAt: r.createdAt.toISOString() })) },
      200,
    );
  });

  app.openapi(refreshMetadata, async (c) => {
    const deps = c.get("deps");
    const nft = parseNftId(c.req.valid("param").id);
    const current = await loadNft(deps, nft);
    if (!current) throw notFound("NFT_NOT_FOUND", `${nft.id} is not indexed`);
    if (current.state !== "on_chain" || current.chainId === null || current.contract === null)
      throw conflict("NFT_IN_FLIGHT", "the NFT is not on a chain right now");
    // A full bound refuses before the cooldown is taken (the token can be refreshed as soon as there is room).
    if (metadataBusy(deps)) throw metadataBusyError();
    const cooldown = deps.nft.refreshCooldownSeconds;
    if (cooldown > 0 && !(await deps.kv.setIfAbsent(`nft:refresh:${nft.id}`, "1", cooldown * 1000)))
      throw tooManyRequests(cooldown, "this NFT was refreshed recently");
    const row = await refreshOnchainMetadata(deps, nft, { chainId: current.chainId, contract: current.contract });
    await announcePush(deps.kv, deps.logger, metadataPush(deps, nft, row, { kind: "refresh" }), {
      store: deps.store,
      maxAttempts: deps.config.webhooks.maxAttempts,
    });
    return c.json(
      {
        onchain: {
          status: row.error && !row.metadata ? "error" : "resolved",
          tokenUri: row.tokenUri,
          data: row.metadata,
          error: row.error,
          fetchedAt: row.fetchedAt.toISOString(),
          chainId: row.chainId,
        },
        image: { thumbnail: thumbnailUrl(deps, row.imageHash) },
      },
      200,
    );
  });

  return app;
}
