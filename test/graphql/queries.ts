/** Queries shared by the GraphQL tests and the bench: the security report's fan-out, the README's. */
import { readFileSync } from "node:fs";
import { parse } from "graphql";

/** The 192-character query of the security report: collection → tokens → collection → tokens. */
export const FAN_OUT =
  "{collections{items{tokens{items{collectionInfo{tokens{items{collectionInfo{tokens{items{tokenId owner collectionInfo{slug name}}}}}}}}}}}}";

/** The GraphQL operations of the README's "frontend queries" block. */
export function readmeOperations(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## The frontend queries"));
  const block = /```graphql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README has no graphql block under 'The frontend queries'");
  return parse(block).definitions.map((d) => (d.loc ? block.slice(d.loc.start, d.loc.end) : ""));
}
