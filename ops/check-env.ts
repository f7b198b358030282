/**
 * `npx tsx ops/check-env.ts`: validates the whole configuration of the current environment (every
 * section of infra/config/, then the indexer's files and chains) and prints every problem, one per
 * line, exit 1.
 */
import { loadIndexerSetup } from "../indexer/setup.js";
import { configProblems } from "../infra/config/sections.js";

const problems = configProblems(process.env);
if (!problems.some((p) => p.startsWith("indexer:"))) {
  try {
    loadIndexerSetup(process.env);
  } catch (error) {
    for (const line of String((error as Error).message).split("\n")) problems.push(`indexer: ${line}`);
  }
}
if (problems.length) {
  console.error(`configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("configuration OK");
