/**
 * Property-based fuzz of every operation in /openapi.json (issue 8): generated path params, query
 * strings, headers (no / garbage / user / admin credentials) and bodies (schema-shaped and garbage),
 * sent to the app built in-process on real Postgres + Redis (lib/stack.ts). For every request:
 * - never a 5xx, except 503 with a code naming a dependency this stack deliberately lacks
 *   (dead RPC → CHAIN_UNAVAILABLE, no job queue → JOBS_UNAVAILABLE, no minter key → MINTER_UNAVAILABLE);
 * - every 4xx is a JSON `{ error: { code, message } }`;
 * - a rejected (4xx) request changed no row of any `offchain` table (count and content hash of each
 *   table compared before/after).
 * Runs are bounded (RESILIENCE_RUNS per operation, default 25) and seeded (RESILIENCE_SEED) so a
 * failure is reproducible; the summary table is printed at the end (see RESILIENCE.md).
 */
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenApiDoc, type Operation, bodyArb, operations, paramValue } from "./lib/openapi.js";
import { startFuzzStack } from "./lib/stack.js";
import { Summary } from "./lib/summary.js";

const RUNS = Number(process.env.RESILIENCE_RUNS ?? 25);
const SEED = Number(process.env.RESILIENCE_SEED ?? 20261125);
const ALLOWED_503 = new Set(["CHAIN_UNAVAILABLE", "JOBS_UNAVAILABLE", "MINTER_UNAVAILABLE"]);

type Stack = Awaited<ReturnType<typeof startFuzzStack>>;
type Sent = { method: string; url: string; headers: Record<string, string>; body?: string };

const headerText = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_.:/+= "), maxLength: 80 });

function requestArb(doc: OpenApiDoc, op: Operation, stack: Stack): fc.Arbitrary<Sent> {
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const queryParams = op.parameters.filter((p) => p.in === "query");
  const path = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, paramValue(doc, p)])) as Record<string, fc.Arbitrary<string>>);
  const query = fc.tuple(
    fc.record(Object.fromEntries(queryParams.map((p) => [p.name, paramValue(doc, p)])) as Record<string, fc.Arbitrary<string>>, { requiredKeys: [] }),
    fc.dictionary(fc.constantFrom("limit", "cursor", "after", "x", "__proto__", "owner"), fc.string({ maxLength: 30 }), { maxKeys: 2 }),
  );
  // Valid credentials most of the time, so generated input reaches the handlers behind requireAuth/requireRole.
  const auth = fc.oneof(
    { weight: 3, arbitrary: fc.constant(`Bearer ${stack.adminToken}`) },
    { weight: 2, arbitrary: fc.constant(`Bearer ${stack.userToken}`) },
    { weight: 2, arbitrary: fc.constantFrom<string | undefined>(undefined, "Bearer x.y.z", "Bearer ", "Basic YTpi", `Bearer ${stack.userToken}x`) },
  );
  const extraHeaders = fc.dictionary(fc.constantFrom("x-api-key", "x-request-id", "x-forwarded-for", "origin", "accept", "idempotency-key"), headerText, {
    maxKeys: 3,
  });
  return fc.record({ path, query, auth, extraHeaders, body: bodyArb(doc, op) }).map(({ path, query, auth, extraHeaders, body }) => {
    const url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      try {
        return encodeURIComponent(path[name] ?? "");
      } catch {
        return "%EF%BF%BD"; // lone surrogate: cannot be URI-encoded; what a client would send instead
      }
    });
    const qs = new URLSearchParams();
    for (const [k, v] of [...Object.entries(query[0]), ...Object.entries(query[1])] as [string, string][]) {
      try {
        encodeURIComponent(v);
        qs.append(k, v);
      } catch {
        qs.append(k, "\ufffd");
      }
    }
    const headers: Record<string, string> = { ...extraHeaders };
    if (auth) headers.authorization = auth;
    let payload: string | undefined;
    if (body.kind === "json") {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body.value) ?? "null";
    } else if (body.kind === "raw") {
      headers["content-type"] = body.contentType ?? "application/json";
      payload = body.text;
    }
    const q = qs.toString();
    return { method: op.method, url: q ? `${url}?${q}` : url, headers, ...(payload !== undefined && op.method !== "GET" ? { body: payload } : {}) };
  });
}

/** Count and content hash of every offchain table, in one round trip. */
async function snapshot(stack: Stack, tables: string[]): Promise<string> {
  const parts = tables.map(
    (t) => `SELECT '${t}' AS t, count(*)::text AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM offchain."${t}" x`,
  );
  const res = (await stack.deps.store.db.execute(sql.raw(parts.join(" UNION ALL ")))) as unknown as { rows: { t: string; n: string; h: string }[] };
  return res.rows.map((r) => `${r.t}:${r.n}:${r.h}`).join(",");
}

describe("resilience: fuzz every OpenAPI operation", () => {
  let stack: Stack;
  let doc: OpenApiDoc;
  let tables: string[];
  const summary = new Summary();
  const codes503 = new Map<string, number>();

  beforeAll(async () => {
    stack = await startFuzzStack();
    doc = (await (await stack.app.request("/openapi.json")).json()) as OpenApiDoc;
    const res = (await stack.deps.store.db.execute(
      sql.raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'offchain' AND table_type = 'BASE TABLE' ORDER BY 1`),
    )) as unknown as { rows: { table_name: string }[] };
    tables = res.rows.map((r) => r.table_name);
  });
  afterAll(async () => {
    console.log(
      summary.table(
        `Resilience fuzz (seed ${SEED}, ${RUNS} runs per operation; 503 codes seen: ${[...codes503].map(([c, n]) => `${c} ×${n}`).join(", ") || "none"})`,
      ),
    );
    await stack?.close();
  });

  it("covers a meaningful API surface", () => {
    expect(tables.length).toBeGreaterThan(3);
    expect(operations(doc).length).toBeGreaterThan(20);
  });

  it("the row check sees a change (self-check: an accepted write alters the snapshot)", async () => {
    const before = await snapshot(stack, tables);
    const res = await stack.app.request("/users/me", {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${stack.userToken}` },
      body: JSON.stringify({ preferences: { fuzz: Date.now() } }),
    });
    expect(res.status).toBe(200);
    expect(await snapshot(stack, tables)).not.toBe(before);
  });

  it("never answers 5xx, answers JSON errors, and rejected requests change no offchain row", async () => {
    const failures: string[] = [];
    let total = 0;
    let totalFailures = 0;
    const started = performance.now();
    const statuses = new Map<number, number>();
    for (const [i, op] of operations(doc).entries()) {
      const t0 = performance.now();
      let opFailures = 0;
      await stack.relogin();
      const samples = fc.sample(requestArb(doc, op, stack), { numRuns: RUNS, seed: SEED + i });
      for (const r of samples) {
        total++;
        const before = await snapshot(stack, tables);
        const res = await stack.app.request(r.url, { method: r.method, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        let problem: string | undefined;
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          /* not JSON */
        }
        if (res.status >= 500) {
          if (res.status === 503 && code && ALLOWED_503.has(code)) codes503.set(code, (codes503.get(code) ?? 0) + 1);
          else problem = `${res.status} ${text.slice(0, 200)}`;
        } else if (res.status >= 400) {
          if (!code) problem = `${res.status} without a JSON error: ${text.slice(0, 120)}`;
          else if ((await snapshot(stack, tables)) !== before) problem = `${res.status} ${code} but offchain rows changed`;
        }
        if (problem) {
          opFailures++;
          if (failures.length < 20)
            failures.push(
              `${op.method} ${op.path}: ${r.method} ${r.url.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 200)} ${String(r.body).slice(0, 200)} → ${problem}`,
            );
        }
      }
      totalFailures += opFailures;
      summary.add({ test: `fuzz ${op.method} ${op.path}`, attempts: samples.length, failures: opFailures, seconds: (performance.now() - t0) / 1000 });
    }
    summary.add({
      test: "fuzz: all operations",
      attempts: total,
      failures: totalFailures,
      seconds: (performance.now() - started) / 1000,
      note: `statuses ${[...statuses]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s}×${n}`)
        .join(" ")}`,
    });
    expect(failures).toEqual([]);
  }, 240_000);

  it("unknown routes and methods answer a JSON 404/405, never 5xx, for any path", async () => {
    let attempts = 0;
    const bad: string[] = [];
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
        async (segments, method) => {
          attempts++;
          const url = `/${segments.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ""))).join("/")}`;
          const res = await stack.app.request(url, { method });
          if (res.status >= 500) bad.push(`${method} ${url} → ${res.status}`);
          return res.status < 500;
        },
      ),
      { numRuns: RUNS * 10, seed: SEED },
    );
    summary.add({ test: "fuzz: arbitrary paths × methods", attempts, failures: bad.length, seconds: (performance.now() - t0) / 1000 });
  });
});
