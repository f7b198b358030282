/**
 * The import direction of docs/architecture.md (.dependency-cruiser.cjs): no circle, nothing
 * pointing up a layer. Violations older than the check are listed in
 * .dependency-cruiser-known-violations.json; that list may only shrink.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const KNOWN_VIOLATIONS_MAX = 7;

describe("layers", () => {
  it("no import circle and no import pointing up, beyond the known list", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs"), ...LAYERS_ARGS], { cwd: ROOT, encoding: "utf8" });
    expect(out).toContain("no dependency violations found");
  });

  it("the known violations only shrink", () => {
    const known = JSON.parse(readFileSync(path.join(ROOT, ".dependency-cruiser-known-violations.json"), "utf8")) as unknown[];
    expect(known.length).toBeLessThanOrEqual(KNOWN_VIOLATIONS_MAX);
  });
});

const LAYERS_ARGS = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts["lint:layers"].split(" ").slice(1);
