/**
 * The configuration is declared once: `.env.example` lists exactly the registry's variables
 * (sections.ts) with their real defaults, and no module outside infra/config/ reads a variable.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_PATTERNS, CONFIG_SECTIONS, EXTERNAL_VARIABLES, configProblems } from "./sections.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const example = readFileSync(`${ROOT}.env.example`, "utf8");
/** `# NAME=value   # comment` → NAME → value (first occurrence). */
const listed = new Map<string, string>();
for (const m of example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=(\S*)/gm)) if (!listed.has(m[1]!)) listed.set(m[1]!, m[2]!);
const declared = new Map(Object.values(CONFIG_SECTIONS).flatMap((schema) => Object.entries(schema.shape)));

describe("configuration registry", () => {
  it("no variable is declared by two sections", () => {
    const names = Object.values(CONFIG_SECTIONS).flatMap((schema) => Object.keys(schema.shape));
    expect(names.length).toBeGreaterThan(100);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it(".env.example lists every declared variable and nothing else", () => {
    const missing = [...declared.keys()].filter((n) => !listed.has(n)).sort();
    const unknown = [...listed.keys()].filter((n) => !declared.has(n) && !EXTERNAL_VARIABLES.includes(n) && !CONFIG_PATTERNS.some((p) => p.test(n))).sort();
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it("every default shown in .env.example is the schema's default", () => {
    const wrong: string[] = [];
    let compared = 0;
    for (const [name, field] of declared) {
      const shown = listed.get(name);
      const def = field.safeParse(undefined);
      // Computed defaults (paths under DATA_DIR, a URL's host) are shown symbolically or left empty.
      if (!shown || /[$<]/.test(shown) || !def.success || def.data === undefined) continue;
      const parsed = field.safeParse(shown);
      compared++;
      if (!parsed.success || JSON.stringify(parsed.data) !== JSON.stringify(def.data))
        wrong.push(`${name}: shown ${shown}, default ${JSON.stringify(def.data)}`);
    }
    expect(compared).toBeGreaterThan(70);
    expect(wrong).toEqual([]);
  });

  it("an empty environment is a valid development configuration (apart from the indexer's files)", () => {
    expect(configProblems({})).toEqual([]);
  });

  it("reports every wrong variable of every section at once", () => {
    const problems = configProblems({
      AUTH_NONCE_TTL_SECONDS: "1",
      BRIDGE_FEE_MARGIN_BPS: "-1",
      DEVNET_CHAINS: "99",
      PONDER_NETWORK: "moon",
      METADATA_FOLLOW: "maybe",
    });
    expect(problems.map((p) => p.split(":").slice(0, 2).join(":"))).toEqual([
      "api: AUTH_NONCE_TTL_SECONDS",
      "nft: METADATA_FOLLOW",
      "bridge: BRIDGE_FEE_MARGIN_BPS",
      "indexer: PONDER_NETWORK",
      "devnet: DEVNET_CHAINS",
    ]);
  });

  it("no module outside infra/config/ reads an environment variable", () => {
    const files = execFileSync(
      "git",
      [
        "ls-files",
        "api",
        "app",
        "chain",
        "devnet",
        "domain",
        "indexer",
        "infra",
        "jobs",
        "offchain",
        "ops",
        "read",
        "realtime",
        "scripts",
        "src",
        "webhooks",
        "ponder.config.ts",
      ],
      { cwd: ROOT },
    )
      .toString()
      .split("\n")
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("infra/config/"));
    expect(files.length).toBeGreaterThan(100);
    const reads: string[] = [];
    for (const file of files) {
      const text = readFileSync(`${ROOT}${file}`, "utf8");
      // A read of `process.env.X`, `env.X` or `env[...]`; assigning a child process's variable is not a read.
      for (const m of text.matchAll(/\b(?:process\.env|env)(?:\.([A-Z][A-Z0-9_]*)(?![\w])|\[)(?!\s*(?:\?\?)?=[^=])/g)) reads.push(`${file}: ${m[0]}`);
    }
    expect(reads).toEqual([]);
  });
});
