/**
 * GET /api/health (liveness with details) and GET /api/ready (readiness for a load balancer).
 * Ponder reserves /health and /ready for the indexer; these cover what the API depends on:
 * Postgres (off-chain store), Redis, and per-chain lag (chain head − indexed block).
 *
 *   /api/health: 200 while the process serves; `status` ok | degraded | down with each check.
 *   /api/ready:  503 when Postgres is down or a chain lags more than HEALTH_MAX_LAG_BLOCKS;
 *                Redis down or an unreachable RPC is `degraded` but ready (reads still answer).
 * Both are cheap to call: one probe per process at a time, reused for HEALTH_CACHE_MS.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { PublicClient } from "viem";
import { readIndexerCheckpoints } from "../../read/checkpoints.js";
import { chainLag } from "../../infra/metrics.js";
import type { IndexerSetup } from "../../indexer/setup.js";
import type { RequestDeps } from "../http/context.js";
import { createRouter, jsonContent } from "../http/openapi.js";
import { createReadClient } from "../../chain/readClient.js";

const Check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const ChainCheck = z.object({
  chainId: z.number().int(),
  indexedBlock: z.number().int().nullable(),
  headBlock: z.number().int().nullable(),
  lagBlocks: z.number().int().nullable(),
  ok: z.boolean(),
});
const Health = z
  .object({
    status: z.enum(["ok", "degraded", "down"]),
    checks: z.object({ postgres: Check, redis: Check, indexer: Check }),
    chains: z.array(ChainCheck),
    maxLagBlocks: z.number().int(),
  })
  .openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/api/health",
  tags: ["operations"],
  summary: "Liveness with the state of Postgres, Redis and every chain's indexing lag",
  responses: { 200: jsonContent(Health, "The process is up; see `status` and the checks") },
});
const readyRoute = createRoute({
  method: "get",
  path: "/api/ready",
  tags: ["operations"],
  summary: "Readiness: 503 when Postgres is down or a chain lags beyond HEALTH_MAX_LAG_BLOCKS",
  responses: { 200: jsonContent(Health, "Ready"), 503: jsonContent(Health, "Not ready") },
});

async function timed(fn: () => Promise<boolean>, timeoutMs: number): Promise<z.infer<typeof Check>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const ok = await Promise.race([
      fn(),
      new Promise<boolean>((_, reject) => (timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return { ok, ms: Math.round(performance.now() - started), ...(ok ? {} : { error: "unreachable" }) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

const clients = new WeakMap<IndexerSetup, Map<number, PublicClient>>();
function clientFor(network: IndexerSetup, chainId: number, rpcUrl: string, timeoutMs: number): PublicClient {
  let map = clients.get(network);
  if (!map) clients.set(network, (map = new Map()));
  let client = map.get(chainId);
  if (!client) map.set(chainId, (client = createReadClient(rpcUrl, { timeoutMs, retryCount: 0 })));
  return client;
}

export async function healthReport(deps: RequestDeps, options: { maxLagBlocks: number; timeoutMs: number }) {
  const [postgres, redis, indexerState] = await Promise.all([
    timed(() => deps.store.ping(), options.timeoutMs),
    timed(() => deps.kv.ping(), options.timeoutMs),
    (async () => {
      const started = performance.now();
      if (!deps.indexed)
        return { check: { ok: true, ms: 0, error: "no index configured" }, checkpoints: [] as Awaited<ReturnType<typeof readIndexerCheckpoints>> };
      try {
        const checkpoints = await readIndexerCheckpoints(deps.indexed);
        return { check: { ok: true, ms: Math.round(performance.now() - started) }, checkpoints };
      } catch (error) {
        return { check: { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message.slice(0, 200) }, checkpoints: [] };
      }
    })(),
  ]);
  const network = deps.network;
  const chains = await Promise.all(
    (network?.chains ?? []).map(async (chain) => {
      let headBlock: number | null = null;
      try {
        headBlock = Number(await clientFor(network!, chain.chainId, chain.rpcUrl, options.timeoutMs).getBlockNumber({ cacheTime: 500 }));
      } catch {}
      const indexedBlock = indexerState.checkpoints.find((cp) => cp.chainId === chain.chainId)?.block ?? null;
      const lagBlocks = headBlock !== null && indexedBlock !== null ? Math.max(0, headBlock - indexedBlock) : null;
      if (lagBlocks !== null) chainLag.set({ chain_id: String(chain.chainId) }, lagBlocks);
      return { chainId: chain.chainId, indexedBlock, headBlock, lagBlocks, ok: lagBlocks !== null && lagBlocks <= options.maxLagBlocks };
    }),
  );
  // Readiness fails on a known excessive lag only: an unreachable RPC degrades chain features but
  // must not take every replica out of the load balancer.
  const ready = postgres.ok && indexerState.check.ok && chains.every((c) => c.lagBlocks === null || c.ok);
  const status: "ok" | "degraded" | "down" = !ready ? "down" : redis.ok && chains.every((c) => c.ok || !deps.indexed) ? "ok" : "degraded";
  return { ready, body: { status, checks: { postgres, redis, indexer: indexerState.check }, chains, maxLagBlocks: options.maxLagBlocks } };
}

type Report = Awaited<ReturnType<typeof healthReport>>;

/**
 * One probe at a time per process, its answer reused for `cacheMs`: any number of /api/health and
 * /api/ready requests (they are not rate limited, load balancers poll them) cost at most one round
 * of Postgres, Redis and RPC calls per `cacheMs`.
 */
function sharedProbe(options: { maxLagBlocks: number; timeoutMs: number; cacheMs: number }) {
  const last = new WeakMap<RequestDeps, { at: number; report: Promise<Report> }>();
  return (deps: RequestDeps): Promise<Report> => {
    const hit = last.get(deps);
    if (hit && performance.now() - hit.at < options.cacheMs) return hit.report;
    const report = healthReport(deps, options);
    const entry = { at: Number.POSITIVE_INFINITY, report };
    last.set(deps, entry);
    // Reused while in flight, then for cacheMs from its completion.
    void report.finally(() => (entry.at = performance.now())).catch(() => {});
    return report;
  };
}

export function createHealthRoutes(options: { maxLagBlocks: number; timeoutMs: number; cacheMs?: number }) {
  const app = createRouter();
  const probe = sharedProbe({ ...options, cacheMs: options.cacheMs ?? 250 });
  app.openapi(healthRoute, async (c) => c.json((await probe(c.get("deps"))).body, 200));
  app.openapi(readyRoute, async (c) => {
    const { ready, body } = await probe(c.get("deps"));
    return ready ? c.json(body, 200) : c.json(body, 503);
  });
  return app;
}
