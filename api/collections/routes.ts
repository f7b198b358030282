/** Collection routes: list, one collection's stats (supply per chain, holders, bridges), admin-editable profile. */
import { createRoute, z } from "@hono/zod-openapi";
import { inArray } from "drizzle-orm";
import { collectionProfiles } from "../../offchain/tables/nfts.js";
import { requireIndexed } from "../../domain/chains/clients.js";
import type { RequestDeps } from "../http/context.js";
import { notFound } from "../http/errors.js";
import { requireRole } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { listCollections, readCollectionStats } from "../../read/tokens.js";
import { collectionPathways } from "../../domain/collections/pathways.js";
import { checksum, checksumOrNull } from "../../domain/nfts/ids.js";
import type { JobQueue } from "../../jobs/types.js";
import { REFRESH_METADATA } from "../../jobs/names.js";
import { EnqueuedSchema } from "../events/schemas.js";
import { jobView, principalId } from "../jobs/routes.js";
import { dependencyDown } from "../http/errors.js";

const Json = z.record(z.string(), z.unknown());
const SlugParam = z.object({
  slug: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .openapi({ param: { name: "slug", in: "path" }, example: "cosmic" }),
});
const url = z
  .string()
  .max(2048)
  .regex(/^(https?|ipfs):\/\//, "an http(s):// or ipfs:// URL");
const ProfileSchema = z
  .object({
    description: z.string().max(10_000).nullable().optional(),
    image: url.nullable().optional(),
    bannerImage: url.nullable().optional(),
    externalUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//)
      .nullable()
      .optional(),
    links: z
      .record(
        z.string().regex(/^[a-z0-9_-]{1,32}$/),
        z
          .string()
          .max(2048)
          .regex(/^https?:\/\//),
      )
      .refine((l) => Object.keys(l).length <= 20, "at most 20 links")
      .optional(),
  })
  .strict()
  .openapi("CollectionProfile");

const listRoute = createRoute({
  method: "get",
  path: "/collections",
  tags: ["collections"],
  summary: "Collections with their deployments and supply per chain",
  responses: { 200: jsonContent(z.object({ items: z.array(Json) }), "Collections"), ...errorResponses(503) },
});
const getRoute = createRoute({
  method: "get",
  path: "/collections/{slug}",
  tags: ["collections"],
  summary:
    "One collection: supply per chain, holders, bridges, profile, and its LayerZero pathways as the chains configure them (peer, enforced options, executor, DVNs, confirmations)",
  request: { params: SlugParam },
  responses: { 200: jsonContent(Json.openapi("Collection"), "The collection"), ...errorResponses(400, 404, 503) },
});
const putProfileRoute = createRoute({
  method: "put",
  path: "/collections/{slug}/profile",
  tags: ["collections"],
  summary: "Set the off-chain profile (admin); fields omitted keep their value, null clears",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: { params: SlugParam, body: jsonBody(ProfileSchema) },
  responses: { 200: jsonContent(Json, "The profile"), ...errorResponses(400, 401, 403, 404, 503) },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/collections/{slug}/refresh",
  tags: ["collections"],
  summary:
    "Re-resolve the on-chain metadata and thumbnails of every token of the collection (admin) as a refresh-metadata job: progress { total, done, resolved, errors, skipped } through GET /jobs/{id}; requests to each metadata host paced at METADATA_REFRESH_RATE_PER_SECOND. One job per collection at a time (a second call answers with it)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: { params: SlugParam },
  responses: { 202: jsonContent(EnqueuedSchema, "The job (Location: /jobs/{id})"), ...errorResponses(400, 401, 403, 404, 503) },
});

export const profileJson = (p: typeof collectionProfiles.$inferSelect | undefined) =>
  p
    ? {
        description: p.description,
        image: p.image,
        bannerImage: p.bannerImage,
        externalUrl: p.externalUrl,
        links: p.links,
        updatedBy: p.updatedBy,
        updatedAt: p.updatedAt.toISOString(),
      }
    : null;

export const deploymentJson = (d: {
  chainId: number;
  address: string;
  kind: string;
  eid: number;
  token: string;
  owner: string | null;
  supply: number;
  minted: number;
  bridgedOut: number;
  bridgedIn: number;
}) => ({
  chainId: d.chainId,
  address: checksum(d.address),
  kind: d.kind,
  eid: d.eid,
  token: checksum(d.token),
  owner: checksumOrNull(d.owner),
  supply: d.supply,
  minted: d.minted,
  bridgedOut: d.bridgedOut,
  bridgedIn: d.bridgedIn,
});

export async function profiles(deps: RequestDeps, slugs: string[]) {
  if (!slugs.length) return [];
  return await deps.store.db.select().from(collectionProfiles).where(inArray(collectionProfiles.slug, slugs));
}

export function createCollectionRoutes(options: { jobs?: JobQueue } = {}) {
  const app = createRouter();

  app.openapi(refreshRoute, async (c) => {
    const deps = c.get("deps");
    const { slug } = c.req.valid("param");
    if (!deps.network?.collections.some((col) => col.slug === slug)) throw notFound("COLLECTION_NOT_FOUND", `no collection "${slug}"`);
    if (!options.jobs) throw dependencyDown("JOBS_UNAVAILABLE", "background jobs are not configured in this process");
    const { job, created } = await options.jobs.enqueue({
      type: REFRESH_METADATA,
      data: { collection: slug },
      createdBy: principalId(c.get("principal")),
      dedupeKey: `${REFRESH_METADATA}:collection:${slug}`,
      progress: { total: null, done: 0 },
    });
    c.header("Location", `/jobs/${job.id}`);
    return c.json({ job: jobView(job), created }, 202);
  });

  app.openapi(listRoute, async (c) => {
    const deps = c.get("deps");
    const rows = await listCollections(requireIndexed(deps));
    const profs = await profiles(
      deps,
      rows.map((r) => r.slug),
    );
    return c.json(
      {
        items: rows.map((r) => ({
          slug: r.slug,
          name: r.name,
          symbol: r.symbol,
          homeChainId: r.homeChainId,
          supply: r.deployments.reduce((n, d) => n + d.supply, 0),
          deployments: r.deployments.map(deploymentJson),
          profile: profileJson(profs.find((p) => p.slug === r.slug)),
        })),
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const deps = c.get("deps");
    const { slug } = c.req.valid("param");
    const stats = await readCollectionStats(requireIndexed(deps), slug);
    if (!stats) throw notFound("COLLECTION_NOT_FOUND", `no collection "${slug}"`);
    const [[profile], pathways] = await Promise.all([profiles(deps, [slug]), collectionPathways(deps, slug)]);
    const n = (v: unknown) => Number(v ?? 0);
    return c.json(
      {
        ...stats.collection,
        supply: stats.deployments.reduce((s, d) => s + d.supply, 0),
        holders: n(stats.holders),
        deployments: stats.deployments.map((d) => ({
          ...deploymentJson(d),
          holders: n(stats.holdersPerChain.find((h) => h.chainId === d.chainId)?.holders),
          bridgesSent: n(stats.sendsPerChain.find((s) => s.chainId === d.chainId)?.n),
        })),
        bridges: {
          sent: stats.sendsPerChain.reduce((s, r) => s + n(r.n), 0),
          ...Object.fromEntries(stats.receivesPerStatus.map((r) => [r.status.toLowerCase(), n(r.n)])),
        },
        profile: profileJson(profile),
        pathways,
      },
      200,
    );
  });

  app.openapi(putProfileRoute, async (c) => {
    const deps = c.get("deps");
    const { slug } = c.req.valid("param");
    if (deps.network && !deps.network.collections.some((col) => col.slug === slug)) throw notFound("COLLECTION_NOT_FOUND", `no collection "${slug}"`);
    const body = c.req.valid("json");
    const p = c.get("principal");
    const values = { ...body, updatedBy: p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`, updatedAt: new Date() };
    const [row] = await deps.store.db
      .insert(collectionProfiles)
      .values({ slug, links: {}, ...values })
      .onConflictDoUpdate({ target: collectionProfiles.slug, set: values })
      .returning();
    return c.json(profileJson(row)!, 200);
  });

  return app;
}
