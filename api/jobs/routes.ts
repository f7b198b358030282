/** GET /jobs/:id: status, progress, attempts and error (or result) of a background job. */
import { createRoute, z } from "@hono/zod-openapi";
import { getJob } from "../../jobs/store.js";
import type { JobRow } from "../../jobs/types.js";
import { JobSchema } from "../events/schemas.js";
import { notFound } from "../http/errors.js";
import { requireAuth } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonContent } from "../http/openapi.js";
import type { Principal } from "../http/context.js";

export function jobView(job: JobRow, withResult = true): z.infer<typeof JobSchema> {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress ?? null,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    error: job.error,
    ...(withResult && job.result !== null ? { result: job.result } : {}),
    createdBy: job.createdBy,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** Who a job belongs to: the wallet, or `apiKey:<id>`. */
export const principalId = (p: Principal) => (p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`);

const getJobRoute = createRoute({
  method: "get",
  path: "/jobs/{id}",
  tags: ["jobs"],
  summary: "A background job (its creator or an admin)",
  security: [BEARER, API_KEY],
  middleware: [requireAuth] as const,
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) }) },
  responses: { 200: jsonContent(JobSchema, "The job"), ...errorResponses(400, 401, 404, 503) },
});

export function createJobRoutes() {
  const app = createRouter();
  app.openapi(getJobRoute, async (c) => {
    const principal = c.get("principal");
    const job = await getJob(c.get("deps").store.db, c.req.valid("param").id);
    // Someone else's job is a 404, not a 403: job ids are not to be probed.
    if (!job || (job.createdBy !== principalId(principal) && !principal.roles.includes("admin"))) throw notFound("JOB_NOT_FOUND", "no such job");
    return c.json(jobView(job), 200);
  });
  return app;
}
