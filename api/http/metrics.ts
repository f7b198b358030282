/**
 * Request metrics (latency per route template) and GET /api/metrics, our Prometheus registry
 * (Ponder keeps /metrics for its own). Business counters are incremented where the fact is
 * committed (events routes, notifier), see infra/metrics.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { httpDuration, registry } from "../../infra/metrics.js";
import type { AppEnv } from "./context.js";
import { unauthorized } from "./errors.js";
import { requestHeader } from "./headers.js";
import { createRouter, errorResponses } from "./openapi.js";

export function httpMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    // The matched template (never the raw path: ids would explode the label set).
    const route = c.req.routePath && c.req.routePath !== "*" && c.res.status !== 404 ? c.req.routePath : "unmatched";
    httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, (performance.now() - started) / 1000);
  };
}

const metricsRoute = createRoute({
  method: "get",
  path: "/api/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics of the API (Ponder's own are at /metrics)",
  description: "Requires `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set.",
  responses: { 200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } }, ...errorResponses(401) },
});

const digest = (value: string) => createHash("sha256").update(value).digest();

/** `presented` equals `expected`, compared in constant time (SHA-256 digests: equal lengths whatever the input). */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function createMetricsRoutes(token: string | undefined) {
  const app = createRouter();
  app.openapi(metricsRoute, async (c) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(requestHeader(c, "authorization") ?? "")?.[1] ?? "";
    if (token && !tokenMatches(presented, token)) throw unauthorized("METRICS_TOKEN_REQUIRED", "send Authorization: Bearer <METRICS_TOKEN>");
    return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
  return app;
}
