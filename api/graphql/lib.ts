/**
 * The GraphQL libraries, loaded by Node's own `require` (their CommonJS builds), never through the
 * loader running our TypeScript. graphql 16 ships two builds without an exports map: Node loads its
 * CommonJS main for every library, while Vite-based loaders (Ponder's vite-node, which runs
 * src/api and so this code, and vitest) inline some libraries and resolve their `graphql` to the
 * ESM build. Two graphql instances make graphql-js refuse types "from another module or realm"
 * (seen: Ponder's generated schema vs @graphql-tools). Loaded here, one instance serves all.
 * Import GraphQL values from this module only (types may come from "graphql").
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

export const graphql = load("graphql") as typeof import("graphql");
export const yoga = load("graphql-yoga") as typeof import("graphql-yoga");
export const schemaTools = load("@graphql-tools/schema") as typeof import("@graphql-tools/schema");
export const scalars = load("graphql-scalars") as typeof import("graphql-scalars");
export const complexity = load("graphql-query-complexity") as typeof import("graphql-query-complexity");
export const armor = {
  maxDepthPlugin: (load("@escape.tech/graphql-armor-max-depth") as typeof import("@escape.tech/graphql-armor-max-depth")).maxDepthPlugin,
  maxAliasesPlugin: (load("@escape.tech/graphql-armor-max-aliases") as typeof import("@escape.tech/graphql-armor-max-aliases")).maxAliasesPlugin,
  maxTokensPlugin: (load("@escape.tech/graphql-armor-max-tokens") as typeof import("@escape.tech/graphql-armor-max-tokens")).maxTokensPlugin,
};
export const DataLoader = load("dataloader") as typeof import("dataloader");

/**
 * Ponder's dist (ES modules) the same way: `require` of an ES module (Node >= 20.19) runs it in
 * Node's loader, where its `import "graphql"` is the CommonJS instance above.
 */
export function loadPonderDist<T>(file: string): T {
  return load(new URL(`../../node_modules/ponder/dist/esm/${file}`, import.meta.url).pathname) as T;
}
