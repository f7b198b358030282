/**
 * Ponder's generated GraphQL schema (the index: `tokens`, `token`, `collections`, relations, `_meta`)
 * as an executable schema we can merge with ours, in any process that reads the index (inside
 * Ponder with its `db`, in API replicas and tests with a read-only pool).
 *
 * Ponder 0.16 builds it in `buildGraphQLSchema({ schema })` and resolves it against a context of
 * `{ qb, getDataLoader }`, but only exports the finished Hono middleware (`graphql()`), whose schema
 * and context cannot be reached or extended. The builder lives in its published `dist` next to the
 * package entry point, outside the `exports` map, so it is loaded by path here (lib.ts). Pinned with
 * `ponder@0.16.10`; test/graphql/graphql.test.ts ("published schema") fails if the generated part
 * changes or this path breaks.
 */
import type { GraphQLSchema } from "graphql/index.js";
import { loadPonderDist } from "./lib.js";
import { requireIndexed } from "../../domain/chains/clients.js";
import type { RequestDeps } from "../http/context.js";
import type { IndexedDatabase } from "../../read/db.js";
import { indexedTables } from "../../read/db.js";

type PonderGraphql = {
  buildGraphQLSchema(args: { schema: Record<string, unknown> }): GraphQLSchema;
  buildDataLoaderCache(qb: PonderQb): (args: { table: unknown }) => unknown;
};

/** What Ponder's resolvers use of its query builder: the drizzle db (`raw`) and a `wrap(fn)` runner. */
export type PonderQb = { raw: IndexedDatabase; wrap<T>(optionsOrFn: unknown, fn?: (db: IndexedDatabase) => T): T };

/** The context Ponder's generated resolvers read (per request: its DataLoaders batch `one` relations). */
export type PonderContext = { qb: PonderQb; getDataLoader: ReturnType<PonderGraphql["buildDataLoaderCache"]> };

let loaded: PonderGraphql | undefined;
const ponderGraphql = async () => (loaded ??= loadPonderDist<PonderGraphql>("graphql/index.js"));

/** The generated schema of ponder.schema.ts, exactly as Ponder's /graphql served it. */
export async function generatedSchema(): Promise<GraphQLSchema> {
  return (await ponderGraphql()).buildGraphQLSchema({ schema: indexedTables as unknown as Record<string, unknown> });
}

/**
 * A per-request context for the generated resolvers over `db` (Ponder's read-only db or a replica
 * pool); without an index they answer 503 INDEX_UNAVAILABLE, as the REST reads do.
 */
export async function ponderContextFactory(): Promise<(db: IndexedDatabase | undefined) => PonderContext> {
  const { buildDataLoaderCache } = await ponderGraphql();
  return (db) => {
    const raw = () => db ?? requireIndexed({} as RequestDeps);
    const qb = {
      get raw() {
        return raw();
      },
      wrap: (a: unknown, b?: (db: IndexedDatabase) => unknown) => (typeof a === "function" ? a : b!)(raw()),
    } as PonderQb;
    return { qb, getDataLoader: buildDataLoaderCache(qb) };
  };
}
