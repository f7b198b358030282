/**
 * The GraphQL schema and its limits, without a chain (an app on Postgres + Redis, no index): the
 * published merged schema is current, every list is priced, the cost budget refuses the fan-out
 * query of the security report and admits the README's queries, depth/aliases are bounded, errors
 * carry the REST codes.
 */
import { readFileSync } from "node:fs";
import { type GraphQLObjectType, getIntrospectionQuery, parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COST_CODE, checkListBounds, requestCost } from "../../api/graphql/limits.js";
import { DEFAULT_GRAPHQL_LIMITS, PUBLISHED_SDL_FILE, mergedSchema, printMergedSchema } from "../../api/graphql/server.js";
import { resolvers } from "../../api/graphql/resolvers.js";
import { createTestApp, json, type TestApp } from "../api/helpers.js";
import { FAN_OUT, readmeOperations } from "./queries.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ kv: "redis" });
});
afterAll(async () => {
  await t?.close();
});

const gql = async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const started = performance.now();
  const res = await t.app.request("/graphql", json({ query, variables }, headers));
  return {
    status: res.status,
    body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] },
    ms: performance.now() - started,
  };
};

describe("GraphQL schema", () => {
  it("published schema: /schema.graphql is the merged schema /graphql serves (npm run graphql:schema)", async () => {
    expect(readFileSync(PUBLISHED_SDL_FILE, "utf8")).toBe(await printMergedSchema());
  });

  it("merges the seed's types with the generated index types; every list is priced; every root field resolves", async () => {
    const schema = await mergedSchema();
    const query = schema.getQueryType()!.getFields();
    for (const f of ["nft", "nftsByOwner", "nftsByOwnerConnection", "me", "tokens", "token", "bridgeSends", "_meta"]) expect(query, f).toHaveProperty(f);
    expect(Object.keys((schema.getType("NFT") as GraphQLObjectType).getFields())).toEqual(
      expect.arrayContaining(["id", "name", "description", "image", "chain", "owner", "metadata", "createdAt", "updatedAt"]),
    );
    expect(checkListBounds(schema)).toEqual([]);
    const sdl = readFileSync(new URL("../../api/graphql/schema.graphql", import.meta.url), "utf8");
    for (const root of ["Query", "Mutation"] as const) {
      const declared = [...(new RegExp(`type ${root} \\{([\\s\\S]*?)\\n\\}`).exec(sdl)?.[1] ?? "").matchAll(/^ {2}(\w+)[(:]/gm)].map((m) => m[1]!);
      expect(declared.length).toBeGreaterThan(2);
      expect(Object.keys(resolvers[root]).sort()).toEqual(declared.sort());
    }
  });

  it("the seed's queries answer (no index here: 503 INDEX_UNAVAILABLE, a code, not a 500)", async () => {
    const r = await gql('{ nft(id: "cosmic:1") { id name } }');
    expect(r.status).toBe(200);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: "INDEX_UNAVAILABLE", kind: "SERVICE_UNAVAILABLE" });
    const bad = await gql('{ nft(id: "not an id") { id } }');
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_NFT_ID", kind: "BAD_REQUEST" });
    const owner = await gql('{ nftsByOwner(owner: "0x12") { id } }');
    expect(owner.body.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED" });
    const generated = await gql("{ tokens(limit: 1) { items { owner } } }");
    expect(generated.body.errors?.[0]?.extensions).toMatchObject({ code: "INDEX_UNAVAILABLE" });
  });

  it("auth: `me` and mutations refuse without credentials (UNAUTHENTICATED), a bad token is TOKEN_INVALID", async () => {
    const me = await gql("{ me { address } }");
    expect(me.body.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", kind: "UNAUTHENTICATED", status: 401 });
    const forged = await gql("{ me { address } }", undefined, { authorization: "Bearer a.b.c" });
    expect(forged.body.errors?.[0]?.extensions).toMatchObject({ kind: "UNAUTHENTICATED" });
    const m = await gql('mutation { updateNftMetadata(id: "cosmic:1", metadata: { name: "x" }) { version } }');
    expect(m.body.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("cost: the fan-out query of the security report is refused before execution, with a code, fast", async () => {
    const schema = await mergedSchema();
    expect(FAN_OUT.length).toBeLessThanOrEqual(200);
    expect(requestCost(schema, parse(FAN_OUT))).toBeGreaterThan(DEFAULT_GRAPHQL_LIMITS.maxCost * 100);
    const r = await gql(FAN_OUT);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: COST_CODE, maxCost: DEFAULT_GRAPHQL_LIMITS.maxCost });
    expect(r.ms).toBeLessThan(1000);
    // Pages multiply: 1000 × 1000 rows through a relation.
    const pages = await gql("{ tokens(limit: 1000) { items { transfers(limit: 1000) { items { kind } } } } }");
    expect(pages.body.errors?.[0]?.extensions?.code).toBe(COST_CODE);
    // Variables count too.
    const v = await gql("query($n: Int) { tokens(limit: $n) { items { transfers(limit: $n) { items { kind } } } } }", { n: 500 });
    expect(v.body.errors?.[0]?.extensions?.code).toBe(COST_CODE);
    // Our lists too: 200 NFTs × their 16 index rows × 1000 transfers each.
    const ours = await gql(
      '{ nftsByOwner(owner: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", first: 200) { tokens { transfers(limit: 1000) { items { kind } } } } }',
    );
    expect(ours.body.errors?.[0]?.extensions?.code).toBe(COST_CODE);
  });

  it("cost: the README's frontend queries stay well inside the budget (under a tenth of it)", async () => {
    const schema = await mergedSchema();
    const ops = readmeOperations();
    expect(ops.length).toBeGreaterThanOrEqual(2);
    const variables = { id: "cosmic:1", owner: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" };
    for (const op of ops) expect(requestCost(schema, parse(op), variables), op).toBeLessThan(DEFAULT_GRAPHQL_LIMITS.maxCost / 10);
  });

  it("depth and aliases: GraphiQL's introspection passes; 200 nested ofType and 40 aliases are refused", async () => {
    const intro = await gql(getIntrospectionQuery());
    expect(intro.body.errors).toBeUndefined();
    expect(intro.body.data.__schema.types.length).toBeGreaterThan(50);
    const n = 200;
    const deep = await gql(`{ __schema { types { fields { type { ${"ofType { ".repeat(n)}name${" }".repeat(n)} } } } } }`);
    expect(deep.body.data ?? null).toBeNull();
    expect(deep.body.errors?.length).toBeGreaterThan(0);
    const aliases = await gql(`{ ${Array.from({ length: 40 }, (_, i) => `a${i}: nft(id: "cosmic:${i}") { id }`).join(" ")} }`);
    expect(aliases.body.data ?? null).toBeNull();
    expect(aliases.body.errors?.[0]?.message).toMatch(/alias/i);
  });
});
