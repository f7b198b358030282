/**
 * The formatter and linter (Biome, biome.json): every TypeScript file is formatted as `npm run
 * format` leaves it and passes the lint rules. Fix a failure with `npm run format`.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("format and lint", () => {
  it("biome ci finds nothing to change", () => {
    // Biome writes its report to stderr; the exit status says whether anything is left to fix.
    const run = spawnSync(path.join(ROOT, "node_modules/.bin/biome"), ["ci", "--colors=off", "."], { cwd: ROOT, encoding: "utf8" });
    const out = `${run.stdout}${run.stderr}`;
    expect(out).toMatch(/Checked \d+ files/);
    expect(run.status, out.slice(0, 4000)).toBe(0);
    expect(out).not.toMatch(/Found \d+ errors?/);
  });
});
