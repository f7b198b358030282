/** GET /chains: the configured chains with their indexing progress and lag (DESIGN §3). */
import { createRoute, z } from "@hono/zod-openapi";
import { getAddress } from "viem";
import { readIndexerCheckpoints } from "../../read/checkpoints.js";
import { createRouter, errorResponses, jsonContent } from "../http/openapi.js";
import { publicClientFor, requireNetwork } from "../../domain/chains/clients.js";

const ChainSchema = z
  .object({
    chainId: z.number().int(),
    name: z.string(),
    eid: z.number().int(),
    endpoint: z.string(),
    indexedBlock: z.number().int().nullable(),
    headBlock: z.number().int().nullable().openapi({ description: "null when the RPC did not answer" }),
    lagBlocks: z.number().int().nullable(),
    collections: z.array(z.object({ slug: z.string(), kind: z.enum(["onft", "adapter"]), address: z.string(), token: z.string() })),
  })
  .openapi("Chain");

const listChains = createRoute({
  method: "get",
  path: "/chains",
  tags: ["chains"],
  summary: "Configured chains: chain id, EID, endpoint, indexed block, head, lag",
  responses: { 200: jsonContent(z.object({ items: z.array(ChainSchema) }), "Chains"), ...errorResponses(503) },
});

/** Head block of a chain (null when its RPC does not answer within 2 s). */
export async function chainHead(client: ReturnType<typeof publicClientFor>): Promise<number | null> {
  try {
    return Number(
      await Promise.race([client.getBlockNumber({ cacheTime: 1000 }), new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), 2000))]),
    );
  } catch {
    return null;
  }
}

export function createChainRoutes() {
  const app = createRouter();
  app.openapi(listChains, async (c) => {
    const deps = c.get("deps");
    const network = requireNetwork(deps);
    const checkpoints = deps.indexed ? await readIndexerCheckpoints(deps.indexed).catch(() => []) : [];
    const items = await Promise.all(
      network.chains.map(async (chain) => {
        const headBlock = await chainHead(publicClientFor(deps, chain.chainId));
        const indexedBlock = checkpoints.find((cp) => cp.chainId === chain.chainId)?.block ?? null;
        return {
          chainId: chain.chainId,
          name: chain.name,
          eid: chain.eid,
          endpoint: getAddress(chain.endpoint),
          indexedBlock,
          headBlock,
          lagBlocks: headBlock !== null && indexedBlock !== null ? Math.max(0, headBlock - indexedBlock) : null,
          collections: network.deployments
            .filter((d) => d.chainId === chain.chainId)
            .map((d) => ({ slug: d.slug, kind: d.kind, address: getAddress(d.address), token: getAddress(d.token) })),
        };
      }),
    );
    return c.json({ items }, 200);
  });
  return app;
}
