/** ops/: alert rules reference only metrics that exist; the env checker lists every problem; .env.example is complete. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { registry } from "../../infra/metrics.js";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("ops files", () => {
  it("every cosmic_* metric in the alert rules is registered, and the rules cover the required alerts", async () => {
    const rules = readFileSync(`${ROOT}ops/prometheus/alerts.yml`, "utf8");
    const registered = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = [...new Set(rules.match(/cosmic_[a-z_]+/g) ?? [])].map((n) => n.replace(/_(bucket|count|sum)$/, ""));
    expect(used.length).toBeGreaterThan(5);
    for (const name of used) expect(registered, name).toContain(name);
    for (const alert of ["CosmicApiDown", "CosmicHighErrorRate", "CosmicChainLag", "CosmicBridgesStuck", "CosmicJobsFailing"])
      expect(rules).toContain(`alert: ${alert}`);
  });

  it("ops/check-env.ts prints every configuration problem and exits 1", () => {
    let output = "";
    try {
      execFileSync(process.execPath, ["--import", "tsx", "ops/check-env.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: "production", RATE_LIMIT_PER_IP: "x", CORS_ORIGINS: "foo", REALTIME_PORT: "99999" },
        stdio: "pipe",
      });
    } catch (error) {
      output = String((error as { stderr: Buffer }).stderr);
      expect((error as { status: number }).status).toBe(1);
    }
    expect(output).toMatch(/RATE_LIMIT_PER_IP: must be an integer/);
    expect(output).toMatch(/CORS_ORIGINS: "foo" is not an origin/);
    expect(output).toMatch(/REALTIME_PORT: must be between 0 and 65535/);
    expect(output).toMatch(/DATABASE_URL is required in production/);
  });

  it(".env.example lists every variable the code reads", () => {
    const example = readFileSync(`${ROOT}.env.example`, "utf8");
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const sources = execFileSync(
      "git",
      ["ls-files", "api", "infra", "indexer", "jobs", "realtime", "chain", "devnet", "scripts", "ponder.config.ts", "offchain", "src"],
      { cwd: ROOT },
    )
      .toString()
      .split("\n")
      .filter((f) => f.endsWith(".ts"));
    const read = new Set<string>();
    for (const file of sources) {
      const text = readFileSync(`${ROOT}${file}`, "utf8");
      for (const m of text.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)) read.add(m[1]!);
      for (const m of text.matchAll(/\b(?:int|intFrom|bool)\("([A-Z][A-Z0-9_]+)"/g)) read.add(m[1]!);
      for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]+): (?:int|bool|z\.)/gm)) read.add(m[1]!);
    }
    const ignored = new Set(["USER", "PGUSER", "PATH", "HOME"]);
    const missing = [...read].filter((v) => !listed.has(v) && !ignored.has(v)).sort();
    expect(missing).toEqual([]);
  });
});
