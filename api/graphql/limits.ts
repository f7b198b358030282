/**
 * Abuse limits of /graphql, for our types and Ponder's generated ones alike (security issue item 1):
 * depth, aliases and tokens (graphql-armor, as Ponder's own middleware used them) and a row budget
 * (graphql-query-complexity with the estimator below) checked before anything executes.
 *
 * Cost = rows the request can make the server materialise, an upper bound computed from the
 * document and its variables: a list field costs its page size times (1 + the cost of one item's
 * selection), so nested lists multiply; an object field costs 1 plus its selection; scalars 0.
 * Page sizes: `first` (ours: default 50, max 200), `limit` + `offset` (generated: default 50, max
 * 1000; skipped rows are read too), or the fixed bound of a list without arguments (LIST_SIZES).
 * The estimator is hand-written: graphql-query-complexity ships only a flat per-field estimator
 * and one driven by schema directives, which the generated schema does not carry.
 */
import type { DocumentNode, GraphQLField, GraphQLSchema, GraphQLType } from "graphql";
import type { ComplexityEstimator } from "graphql-query-complexity";
import type { Plugin } from "graphql-yoga";
import { armor, complexity, graphql } from "./lib.js";

const { GraphQLError, getNamedType, getNullableType, isListType, isObjectType, isScalarType, isEnumType } = graphql;
const { maxAliasesPlugin, maxDepthPlugin, maxTokensPlugin } = armor;

export type GraphqlLimits = { maxCost: number; maxDepth: number; maxAliases: number; maxTokens: number };

/** Ponder's page size when `limit` is absent (graphql/index.js DEFAULT_LIMIT). */
const GENERATED_DEFAULT_LIMIT = 50;
/** Our `first` when absent (the SDL declares the same default). */
const DEFAULT_FIRST = 50;

/** Upper bounds of list fields without a page argument ("at most N" in schema.graphql). */
export const LIST_SIZES: Record<string, number> = {
  "Query.chains": 16,
  "Query.allCollections": 16,
  "NFT.transfers": 10,
  "NFT.tokens": 16,
  "Collection.deployments": 16,
  "Event.attendees": 1000,
  // A pathway has at most 255 DVNs (uint8 counts); LayerZero pathways use a handful.
  "BridgeDvns.items": 16,
};

/** A page type: Ponder's `<table>Page` ({ items, pageInfo, totalCount }) or our `<X>Connection`. */
const isPageType = (t: GraphQLType) =>
  isObjectType(t) && (t.name.endsWith("Page") || t.name.endsWith("Connection")) && ("items" in t.getFields() || "nodes" in t.getFields());
const ITEM_FIELDS = new Set(["items", "nodes", "edges"]);

function pageSize(args: Record<string, unknown>, field: GraphQLField<unknown, unknown>): number | undefined {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? Math.max(0, v) : undefined);
  if (field.args.some((a) => a.name === "first")) return num(args.first) ?? DEFAULT_FIRST;
  if (field.args.some((a) => a.name === "limit")) return (num(args.limit) ?? GENERATED_DEFAULT_LIMIT) + (num(args.offset) ?? 0);
  return undefined;
}

export function rowsEstimator(): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    const parent = type.name;
    if (parent.startsWith("__") || field.name.startsWith("__")) return 0; // introspection: depth/token limits bound it
    const returns = getNullableType(field.type);
    const named = getNamedType(field.type);
    if (isScalarType(named) || isEnumType(named)) return 0;
    if (isPageType(type)) return ITEM_FIELDS.has(field.name) ? childComplexity : 0; // rows counted by the page field
    const size = pageSize(args, field);
    if (isPageType(named)) return (size ?? GENERATED_DEFAULT_LIMIT) * (1 + childComplexity);
    if (isListType(returns)) {
      const bound = size ?? LIST_SIZES[`${parent}.${field.name}`];
      if (bound === undefined) throw new Error(`no size bound for list field ${parent}.${field.name} (api/graphql/limits.ts LIST_SIZES)`);
      return bound * (1 + childComplexity);
    }
    return 1 + childComplexity;
  };
}

/** Every list field of `schema` has a bound (startup check; an unbounded list would be priced wrongly). */
export function checkListBounds(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__") || isPageType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isScalarType(named) || isEnumType(named) || !isListType(getNullableType(field.type))) continue;
      if (!field.args.some((a) => a.name === "first" || a.name === "limit") && LIST_SIZES[`${type.name}.${field.name}`] === undefined)
        missing.push(`${type.name}.${field.name}`);
    }
  }
  return missing;
}

/** The cost of an operation (exported for tests and docs). */
export function requestCost(schema: GraphQLSchema, document: DocumentNode, variables?: Record<string, unknown>, operationName?: string): number {
  return complexity.getComplexity({ schema, query: document, variables, operationName, estimators: [rowsEstimator()] });
}

export const COST_CODE = "QUERY_TOO_COSTLY";

/** Envelop plugins of the limits, for createYoga({ plugins }). */
export function limitPlugins(limits: GraphqlLimits): Plugin[] {
  // The cost depends on the document and on the values of non-string variables only (page sizes are
  // Ints; strings such as ids never change it): memoised per parsed document (yoga caches parsing,
  // so a repeated query string is the same DocumentNode) and those values.
  const memo = new WeakMap<DocumentNode, Map<string, number>>();
  const costOf = (schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined) => {
    const key = `${operationName ?? ""}|${JSON.stringify(Object.entries(variables ?? {}).filter(([, v]) => typeof v !== "string"))}`;
    let byVars = memo.get(document);
    const hit = byVars?.get(key);
    if (hit !== undefined) return hit;
    const cost = requestCost(schema, document, variables, operationName);
    if (!byVars) memo.set(document, (byVars = new Map()));
    if (byVars.size < 100) byVars.set(key, cost);
    return cost;
  };
  const costLimit: Plugin = {
    onExecute({ args, setResultAndStopExecution }) {
      let cost: number;
      try {
        cost = costOf(args.schema, args.document, (args.variableValues ?? undefined) as Record<string, unknown> | undefined, args.operationName ?? undefined);
      } catch (error) {
        setResultAndStopExecution({
          errors: [new GraphQLError(`query cost cannot be computed: ${(error as Error).message}`, { extensions: { code: COST_CODE, kind: "BAD_REQUEST" } })],
        });
        return;
      }
      if (cost > limits.maxCost)
        setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `query may materialise ${cost} rows, over the budget of ${limits.maxCost} per request: ask for smaller pages (first/limit) or fewer nested lists`,
              {
                extensions: { code: COST_CODE, kind: "BAD_REQUEST", cost, maxCost: limits.maxCost },
              },
            ),
          ],
        });
    },
  };
  return [
    maxTokensPlugin({ n: limits.maxTokens }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: false }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, allowList: [] }) as Plugin,
    costLimit,
  ];
}
