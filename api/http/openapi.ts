import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
/** OpenAPIHono factory with our validation hook, plus the OpenAPI document and the /docs page. */
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { ErrorSchema, errorJson } from "./errors.js";
import type { AppEnv } from "./context.js";

/** zod validation failures of params/query/body become 400 VALIDATION_FAILED with per-field details. */
export const validationHook: Hook<unknown, Env, string, unknown> = (result, c) => {
  if (result.success) return;
  const { message, details } = validationFailure(result.target, result.error);
  return errorJson(c, 400, "VALIDATION_FAILED", message, { details });
};

/** The message and per-field details of a VALIDATION_FAILED (REST and GraphQL inputs alike). */
export function validationFailure(target: string, error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message }));
  return { message: `invalid ${target}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`.slice(0, 500), details: issues.slice(0, 20) };
}

/** Every domain router is created with this, so validation errors look the same everywhere. */
export function createRouter<E extends Env = AppEnv>() {
  return new OpenAPIHono<E>({ defaultHook: validationHook as unknown as Hook<unknown, E, string, unknown> });
}

/** Standard error responses to spread into a route's `responses`. */
export function errorResponses(...statuses: (400 | 401 | 403 | 404 | 409 | 422 | 429 | 503)[]) {
  const descriptions: Record<number, string> = {
    400: "Malformed request (validation failed)",
    401: "Not authenticated / credentials rejected",
    403: "Authenticated but not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Well-formed but unacceptable",
    429: "Rate limited (see Retry-After)",
    503: "A dependency (database, Redis, chain RPC) is unavailable",
  };
  return Object.fromEntries(statuses.map((s) => [s, { description: descriptions[s]!, content: { "application/json": { schema: ErrorSchema } } }])) as Record<
    (typeof statuses)[number],
    { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }
  >;
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const BEARER = { bearerAuth: [] as string[] };
export const API_KEY = { apiKey: [] as string[] };

export function mountDocs(app: OpenAPIHono<AppEnv>, info: { title: string; version: string }) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "x-api-key" });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: { ...info, description: "Cosmic Loop REST API (beside Ponder's GraphQL)." } });
  app.get("/docs", (c) =>
    c.html(`<!doctype html>
<html><head><meta charset="utf-8"><title>${info.title} — API docs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", persistAuthorization: true });</script>
</body></html>`),
  );
  // Swagger UI's assets come from the swagger-ui-dist package, so the docs work offline.
  for (const [file, type] of Object.entries(DOCS_ASSETS)) {
    app.get(`/docs/assets/${file}`, (c) => {
      c.header("content-type", type);
      c.header("cache-control", "public, max-age=86400");
      return c.body(docsAsset(file));
    });
  }
}

const require = createRequire(import.meta.url);
const DOCS_ASSETS = { "swagger-ui.css": "text/css; charset=utf-8", "swagger-ui-bundle.js": "text/javascript; charset=utf-8" } as const;
const assetCache = new Map<string, string>();
function docsAsset(file: string): string {
  let body = assetCache.get(file);
  if (!body) {
    body = readFileSync(path.join(path.dirname(require.resolve("swagger-ui-dist/package.json")), file), "utf8");
    assetCache.set(file, body);
  }
  return body;
}
