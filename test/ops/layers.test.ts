/**
 * The import direction of docs/architecture.md (.dependency-cruiser.cjs): no circle, nothing
 * pointing up a layer, and no folder of code left out of the check.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
// Folders without production code: tests, benchmarks, build inputs and outputs.
const NOT_CHECKED = new Set(["test", "bench", "node_modules", "generated", "artifacts", "contracts", "docs"]);

describe("layers", () => {
  it("no import circle and no import pointing up", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs"), ...LAYERS_ARGS], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(out).toContain("no dependency violations found");
  });

  it("every folder of code is checked", () => {
    const hasTs = (dir: string): boolean =>
      readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? hasTs(path.join(dir, e.name)) : e.name.endsWith(".ts")));
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !NOT_CHECKED.has(e.name) && hasTs(path.join(ROOT, e.name)))
      .map((e) => e.name);
    expect(folders.filter((f) => !LAYERS_ARGS.includes(f))).toEqual([]);
  });
});

const LAYERS_ARGS = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"))
  .scripts["lint:layers"].split(" ")
  .slice(1);
