/**
 * The route guard audit (docs/security.md) kept true: every operation of /openapi.json is in the
 * table and nothing else is; each row's guard holds for that route — no credentials, a plain wallet
 * session, a holder of the required role, an admin, an API key. Object rules are tested where the
 * table says; "someone else's job is a 404" is tested here.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { buildApp } from "../../api/app.js";
import { bearer, createEventsApp, type EventsApp, fakeNetwork, inMinutes, organizer, post } from "../events/helpers.js";
import { json } from "./helpers.js";

type Row = { method: string; path: string; guard: string };
const table: Row[] = [
  ...readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8").matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \| ([\w:]+) \|/gm),
].map((m) => ({ method: m[1]!, path: m[2]!, guard: m[3]! }));

let t: EventsApp;
let app: EventsApp["app"];
let eventId: string;
let jobId: string;
let org: { token: string; address: `0x${string}` };
const METRICS_TOKEN = "route-guards-metrics-token";

beforeAll(async () => {
  t = await createEventsApp({ kv: "redis", network: fakeNetwork(), startJobs: false });
  app = buildApp({ ...t.deps, ops: { ...loadOpsConfig({ RATE_LIMIT_PER_IP: "100000", RATE_LIMIT_PER_WALLET: "100000" }), metricsToken: METRICS_TOKEN } });
  org = await organizer(t);
  eventId = (
    (await (
      await t.request(
        "/events",
        post({ name: "Audit", startsAt: inMinutes(30), endsAt: inMinutes(90), capacity: 5, collection: "cosmic", chainId: 31337 }, org.token),
      )
    ).json()) as { id: string }
  ).id;
  jobId = ((await (await t.request(`/events/${eventId}/report`, { method: "POST", headers: bearer(org.token) })).json()) as { job: { id: string } }).job.id;
});
afterAll(async () => {
  await t?.close();
});

const bystander = privateKeyToAccount(generatePrivateKey()).address;
function concrete(path: string): string {
  const values: Record<string, string> = {
    address: bystander,
    role: "organizer",
    file: `${"a".repeat(64)}.webp`,
    slug: "cosmic",
    operationId: randomUUID(),
    chainId: "31337",
    tokenId: "1",
  };
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name !== "id") return values[name]!;
    if (path.startsWith("/events/")) return eventId;
    if (path.startsWith("/jobs/")) return jobId;
    if (path.startsWith("/nfts/")) return "cosmic:1";
    return randomUUID();
  });
}

async function call(row: Row, headers: Record<string, string> = {}) {
  const init: RequestInit = { method: row.method, headers: { ...headers } };
  if (row.method !== "GET" && row.method !== "DELETE") Object.assign(init, json({}, headers), { method: row.method });
  const res = await app.request(concrete(row.path), init);
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code: string } }).error?.code;
  } catch {}
  return { status: res.status, code };
}

async function walletWith(role?: string) {
  const account = privateKeyToAccount(generatePrivateKey());
  if (role) await t.grant(account.address, role);
  return bearer((await t.login(account)).token);
}

describe("route guards (docs/security.md)", () => {
  it("the table lists exactly the operations of /openapi.json", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(table.map((r) => `${r.method} ${r.path}`).sort()).toEqual(operations.sort());
    expect(new Set(table.map((r) => r.guard))).toEqual(
      new Set(["public", "wallet", "auth", "refresh", "ticket", "metrics", "role:admin", "role:minter", "role:organizer", "role:webhooks"]),
    );
  });

  it("each route's guard holds: anonymous, wallet, role holder, admin, API key", async () => {
    const apiKey = ((await (await t.request("/auth/api-keys", json({ name: "audit", roles: ["minter"] }, bearer(t.admin.token)))).json()) as { key: string })
      .key;
    const failures: string[] = [];
    const check = (row: Row, who: string, ok: boolean, got: { status: number; code?: string }) => {
      if (!ok) failures.push(`${row.method} ${row.path} [${row.guard}] as ${who}: ${got.status} ${got.code ?? ""}`);
    };
    for (const row of table) {
      const anonymous = await call(row);
      const user = await call(row, await walletWith());
      const denied = (r: { status: number; code?: string }) => r.status === 401 || r.code === "MISSING_ROLE" || r.code === "USER_SESSION_REQUIRED";
      switch (row.guard) {
        case "public":
        case "refresh":
          // (503 where this stack has no index or chain: the point is that no credential is asked for.)
          check(row, "anonymous", anonymous.status !== 401 && anonymous.status !== 403, anonymous);
          break;
        case "metrics":
          check(row, "anonymous", anonymous.status === 401, anonymous);
          check(row, "token", (await call(row, { authorization: `Bearer ${METRICS_TOKEN}` })).status === 200, anonymous);
          break;
        case "wallet":
        case "ticket":
        case "auth": {
          check(row, "anonymous", anonymous.status === 401 && anonymous.code === "UNAUTHENTICATED", anonymous);
          check(row, "wallet", !denied(user), user);
          if (row.guard === "wallet") {
            const key = await call(row, { "x-api-key": apiKey });
            // An API key is no wallet session (unless the body is refused first).
            check(row, "API key", key.code === "USER_SESSION_REQUIRED" || key.code === "VALIDATION_FAILED", key);
          }
          break;
        }
        default: {
          const role = row.guard.slice("role:".length);
          check(row, "anonymous", anonymous.status === 401, anonymous);
          check(row, "wallet", user.status === 403 && user.code === "MISSING_ROLE", user);
          const holder = role === "organizer" ? bearer(org.token) : await walletWith(role);
          const held = await call(row, holder);
          check(row, `role ${role}`, !denied(held), held);
          if (role !== "admin") check(row, "admin", !denied(await call(row, bearer(t.admin.token))), held);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("someone else's job is a 404; its creator and admins read it", async () => {
    const stranger = await walletWith("organizer");
    expect(await call({ method: "GET", path: "/jobs/{id}", guard: "auth" }, stranger)).toEqual({ status: 404, code: "JOB_NOT_FOUND" });
    expect((await call({ method: "GET", path: "/jobs/{id}", guard: "auth" }, bearer(org.token))).status).toBe(200);
    expect((await call({ method: "GET", path: "/jobs/{id}", guard: "auth" }, bearer(t.admin.token))).status).toBe(200);
  });
});
