/**
 * Writes the published GraphQL schema, /schema.graphql: api/graphql/schema.graphql (ours) merged
 * with Ponder's generated index schema, as /graphql serves it. `npm run graphql:schema`;
 * test/graphql/graphql.test.ts fails when the file is stale.
 */
import { writeFileSync } from "node:fs";
import { PUBLISHED_SDL_FILE, printMergedSchema } from "../api/graphql/server.js";

writeFileSync(PUBLISHED_SDL_FILE, await printMergedSchema());
console.log(`wrote ${PUBLISHED_SDL_FILE.pathname}`);
