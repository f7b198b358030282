/**
 * /graphql (and / as before): ONE schema, the seed's types (api/graphql/schema.graphql, resolvers
 * over our services) merged with Ponder's generated index schema, so a frontend can ask for both in
 * one request. graphql-yoga serves it (GraphiQL on GET from a browser), with the abuse limits of
 * limits.ts applied to every operation, generated fields included.
 */
import { readFileSync } from "node:fs";
import type { GraphQLSchema } from "graphql";
import { graphql, schemaTools, yoga as yogaLib } from "./lib.js";
import type { Context } from "hono";
import type { TicketKeys } from "../../domain/events/tickets.js";
import type { AppEnv } from "../http/context.js";
import { ServiceError, httpStatusOf, isDependencyError } from "../http/errors.js";
import { createContext } from "./context.js";
import { type GraphqlLimits, checkListBounds, limitPlugins } from "./limits.js";
import { generatedSchema, ponderContextFactory } from "./ponder.js";
import { resolvers } from "./resolvers.js";

const { GraphQLError, isObjectType, lexicographicSortSchema, printSchema } = graphql;
type GraphQLError = InstanceType<typeof GraphQLError>;

export const SEED_SDL_FILE = new URL("./schema.graphql", import.meta.url);
/** The published merged schema (regenerate: `npm run graphql:schema`; test/graphql checks it). */
export const PUBLISHED_SDL_FILE = new URL("../../schema.graphql", import.meta.url);

export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = { maxCost: 5_000, maxDepth: 30, maxAliases: 30, maxTokens: 1_000 };

/** HTTP status → the category a client can branch on (extensions.kind), beside the REST `code`. */
const KINDS: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  422: "UNPROCESSABLE",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
};

/** Errors of Ponder's generated resolvers are about their arguments (limit, cursor, orderBy, where): 400. */
class GeneratedFieldError extends ServiceError {}

function wrapGenerated(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = async (...args) => {
        try {
          return await resolve(...args);
        } catch (error) {
          if (error instanceof ServiceError || isDependencyError(error)) throw error;
          throw new GeneratedFieldError("invalid", "BAD_REQUEST", (error as Error).message?.slice(0, 300) || "invalid arguments");
        }
      };
    }
  }
  return schema;
}

let merged: Promise<GraphQLSchema> | undefined;

/** The merged schema (built once per process: it depends on no request or deployment). */
export function mergedSchema(): Promise<GraphQLSchema> {
  merged ??= (async () => {
    const schema = schemaTools.mergeSchemas({ schemas: [wrapGenerated(await generatedSchema())], typeDefs: readFileSync(SEED_SDL_FILE, "utf8"), resolvers });
    const unbounded = checkListBounds(schema);
    if (unbounded.length) throw new Error(`GraphQL list fields without a cost bound: ${unbounded.join(", ")}`);
    return schema;
  })();
  return merged;
}

/** The published form: sorted, so it does not depend on how a loader orders ponder.schema.ts's exports. */
export const printMergedSchema = async () => `${printSchema(lexicographicSortSchema(await mergedSchema()))}\n`;

function toGraphqlError(error: GraphQLError, original: unknown): GraphQLError {
  if (original instanceof ServiceError)
    return new GraphQLError(original.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: original.code, kind: KINDS[httpStatusOf(original)] ?? "BAD_REQUEST", status: httpStatusOf(original) },
    });
  if (isDependencyError(original))
    return new GraphQLError("a backing service is unavailable, retry later", {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: "DEPENDENCY_UNAVAILABLE", kind: KINDS[503], status: 503 },
    });
  return new GraphQLError("internal error", { nodes: error.nodes, path: error.path, extensions: { code: "INTERNAL_ERROR", kind: "INTERNAL", status: 500 } });
}

/** Errors that are not the client's nor a dependency's: logged with the request's logger. */
function isUnexpected(error: GraphQLError): boolean {
  const original = error.originalError;
  if (!original || original instanceof ServiceError || isDependencyError(original)) return false;
  return (
    !(original instanceof GraphQLError) ||
    Boolean(original.originalError && !(original.originalError instanceof ServiceError) && !isDependencyError(original.originalError))
  );
}

/** The Hono handler of /graphql for one app (its deps come from the request context). */
export function graphqlHandler(options: { tickets: TicketKeys; limits: GraphqlLimits }) {
  const yoga = (async () => {
    const [schema, ponderContext] = await Promise.all([mergedSchema(), ponderContextFactory()]);
    return yogaLib.createYoga<{ c: Context<AppEnv> }>({
      schema,
      graphqlEndpoint: "*",
      landingPage: false,
      graphiql: { title: "Cosmic Loop GraphQL" },
      logging: false,
      plugins: [
        ...limitPlugins(options.limits),
        yogaLib.useErrorHandler(({ errors, context }) => {
          const log = (context as { c?: Context<AppEnv> }).c?.get("log");
          for (const error of errors)
            if (error instanceof GraphQLError && isUnexpected(error)) log?.error({ err: error.originalError, path: error.path }, "graphql resolver failed");
        }),
      ],
      context: ({ c }) => createContext(c, options.tickets, ponderContext(c.get("deps").indexed?.db)),
      maskedErrors: {
        maskError: (error) => {
          const gqlError = error instanceof GraphQLError ? error : new GraphQLError(String(error));
          const original = gqlError.originalError;
          // GraphQL's own errors (syntax, validation, the limits) carry their message and code already.
          if (!original || (original instanceof GraphQLError && !original.originalError)) return gqlError;
          return toGraphqlError(gqlError, original instanceof GraphQLError ? original.originalError : original);
        },
      },
    });
  })();
  return async (c: Context<AppEnv>) => {
    const server = await yoga;
    if (!fastPath(c)) return server.handle(c.req.raw, { c });
    let params: unknown;
    try {
      params = await c.req.json();
    } catch {
      return c.json({ errors: [{ message: "POST body sent invalid JSON." }] }, 400);
    }
    if (!params || typeof params !== "object" || Array.isArray(params) || typeof (params as { query?: unknown }).query !== "string")
      return server.handle(new Request(c.req.url, { method: "POST", headers: c.req.raw.headers, body: JSON.stringify(params) }), { c });
    // The GraphQL part of yoga (params hooks, parse/validate caches, our limits, execution, error
    // masking) without its HTTP part: no Fetch Request/Response per call (measured: ~0.3 ms of a
    // `{ __typename }` request in-process). Its plugins read only `request.method` here.
    const request = { method: "POST" } as Request;
    const result = await server.getResultForParams({ params: params as { query: string }, request }, { c, request, params } as never);
    return c.json(result as object);
  };
}

/** A plain JSON POST whose client takes application/json: answered by the GraphQL pipeline directly. */
function fastPath(c: Context<AppEnv>): boolean {
  if (c.req.method !== "POST") return false;
  const type = c.req.header("content-type");
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) return false;
  const accept = c.req.header("accept");
  return !accept || accept === "*/*" || /application\/json|\*\/\*/i.test(accept);
}
