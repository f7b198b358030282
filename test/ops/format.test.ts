/**
 * The formatter and linter (Biome, biome.json): every TypeScript file is formatted as `npm run
 * format` leaves it and passes the lint rules. Fix a failure with `npm run format`.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("format and lint", () => {
  it("biome ci finds nothing to change", () => {
    let out: string;
    try {
      out = execFileSync(path.join(ROOT, "node_modules/.bin/biome"), ["ci", "--colors=off", "."], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    }
    expect(out).toMatch(/Checked \d+ files/);
    expect(out).not.toMatch(/Found \d+ errors?/);
  });
});
