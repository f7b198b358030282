/**
 * GraphQL abuse against a real Ponder child process (test/helpers/ponder.ts on a 1-chain devnet,
 * PGlite): depth (introspection `ofType` nesting), alias floods, oversized documents, batches,
 * fragment cycles, huge limits, malformed bodies. Each must be rejected (4xx, or a GraphQL
 * `errors` answer without data) within a few seconds — never a 5xx, never a hang — and a normal
 * query must still answer afterwards. The endpoint's limits (api/graphql/limits.ts: tokens 1000,
 * depth 30, aliases 30, a row budget of 5,000 per request) are what this relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devnet } from "../../devnet/start.js";
import { startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, cleanupPonder, startPonder, waitForHead } from "../helpers/ponder.js";
import { Summary } from "./lib/summary.js";

const HANG_MS = 10_000;

const deepOfType = (n: number) => `{ __schema { types { ${"fields { type { ".repeat(1)}${"ofType { ".repeat(n)}name${" }".repeat(n)} } } } } }`;
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: tokens(limit: 1) { items { owner } }`).join(" ")} }`;
const manyFields = (n: number) => `{ tokens(limit: 1) { items { ${"owner ".repeat(n)} } } }`;

/**
 * `reject`: must be refused (4xx, or GraphQL errors without data). `bounded`: within Ponder's limits
 * or not counted by them (comments, one long string token): may succeed, but must answer, fast, never 5xx.
 */
const ATTACKS: { name: string; body: string; contentType?: string; expect?: "reject" | "bounded" }[] = [
  { name: "depth: 60 nested ofType (introspection)", body: JSON.stringify({ query: deepOfType(60) }), expect: "bounded" },
  {
    name: "breadth: collection → tokens → collection → tokens (the security report's fan-out shape; row budget)",
    body: JSON.stringify({
      query: "{collections{items{tokens{items{collectionInfo{tokens{items{collectionInfo{tokens{items{tokenId owner collectionInfo{slug name}}}}}}}}}}}}",
    }),
  },
  {
    name: "breadth: 1000 × 1000 rows through a relation (row budget)",
    body: JSON.stringify({ query: "{ tokens(limit: 1000) { items { transfers(limit: 1000) { items { kind } } } } }" }),
  },
  { name: "depth: 200 nested ofType", body: JSON.stringify({ query: deepOfType(200) }) },
  { name: "aliases: 100 × tokens", body: JSON.stringify({ query: aliases(100) }) },
  { name: "aliases: 2,000 × tokens", body: JSON.stringify({ query: aliases(2000) }) },
  { name: "size: 20,000 repeated fields", body: JSON.stringify({ query: manyFields(20_000) }) },
  {
    name: "size: 1 MB comment (over the 512 KiB body limit)",
    body: JSON.stringify({ query: `# ${"x".repeat(1_000_000)}\n{ tokens(limit: 1) { items { owner } } }` }),
  },
  {
    name: "size: 5 MB string argument (over the 512 KiB body limit)",
    body: JSON.stringify({ query: `{ tokens(where: { owner: "${"a".repeat(5_000_000)}" }) { items { owner } } }` }),
  },
  { name: "batch: 500 queries in one array", body: JSON.stringify(Array.from({ length: 500 }, () => ({ query: "{ tokens { items { owner } } }" }))) },
  { name: "fragment cycle", body: JSON.stringify({ query: "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }" }) },
  { name: "limit: 1,000,000", body: JSON.stringify({ query: "{ tokens(limit: 1000000) { items { owner } } }" }) },
  { name: "unknown field", body: JSON.stringify({ query: "{ nope { x } }" }) },
  { name: "malformed JSON", body: "{not json" },
  { name: "malformed GraphQL", body: JSON.stringify({ query: "{ tokens { items { owner }" }) },
  {
    name: "variables: 100,000-entry object",
    body: JSON.stringify({
      query: "query($x: String) { tokens(limit: 1) { items { owner } } }",
      variables: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`v${i}`, i])),
    }),
  },
  { name: "text/plain body", body: JSON.stringify({ query: "{ tokens(limit: 1) { items { owner } } }" }), contentType: "text/plain", expect: "bounded" },
];

describe("resilience: GraphQL abuse against a real Ponder", () => {
  let devnet: Devnet;
  let ponder: PonderInstance;
  const summary = new Summary();

  beforeAll(async () => {
    devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
    ponder = await startPonder({ deployments: devnet.deployments, db: "pglite" });
    await waitForHead(ponder, devnet.deployments, 90_000);
  }, 300_000); // Ponder boots one at a time across test files (boot lock): allow for the queue
  afterAll(async () => {
    console.log(summary.table("Resilience: GraphQL abuse (Ponder /graphql)"));
    if (ponder) await cleanupPonder(ponder);
    await devnet?.stop();
  });

  const post = async (body: string, contentType = "application/json") => {
    const t0 = performance.now();
    const res = await fetch(`${ponder.url}/graphql`, {
      method: "POST",
      headers: { "content-type": contentType, accept: "application/json" },
      body,
      signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    let parsed: { data?: unknown; errors?: unknown[] } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, parsed, ms: performance.now() - t0 };
  };

  it("a normal query answers with data (control)", async () => {
    const r = await post(JSON.stringify({ query: "{ tokens(limit: 1) { items { owner } } }" }));
    expect(r.status).toBe(200);
    expect(r.parsed?.errors).toBeUndefined();
  });

  it("rejects every abuse with a 4xx or GraphQL errors, never a 5xx or a hang", async () => {
    const failures: string[] = [];
    for (const attack of ATTACKS) {
      let outcome: string;
      let failed = false;
      try {
        const r = await post(attack.body, attack.contentType);
        const rejected = (r.status >= 400 && r.status < 500) || (r.status === 200 && Boolean(r.parsed?.errors?.length) && !r.parsed?.data);
        outcome = `${attack.expect === "bounded" ? "bounded: " : ""}${r.status}${r.parsed?.errors?.length ? " + errors" : ""} in ${r.ms.toFixed(0)} ms`;
        failed = attack.expect === "bounded" ? r.status >= 500 : !rejected;
      } catch (e) {
        outcome = `no answer within ${HANG_MS} ms (${(e as Error).name})`;
        failed = true;
      }
      if (failed) failures.push(`${attack.name}: ${outcome}`);
      summary.add({ test: `graphql ${attack.name}`, attempts: 1, failures: failed ? 1 : 0, note: outcome });
    }
    expect(failures).toEqual([]);
  });

  it("still answers a normal query quickly afterwards", async () => {
    const r = await post(JSON.stringify({ query: "{ tokens(limit: 1) { items { owner } } }" }));
    expect(r.status).toBe(200);
    summary.add({ test: "graphql normal query after the abuse", attempts: 1, failures: r.status === 200 ? 0 : 1, note: `${r.ms.toFixed(0)} ms` });
  });
});
