/**
 * Rate limits (rate-limiter-flexible) across two replicas at 10× the limit, per IP and per wallet,
 * with RateLimit-* / Retry-After headers; CORS from configuration; /api/metrics; /api/health and
 * /api/ready; configuration errors one per line.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { cors } from "hono/cors";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createPostgresStore } from "../../offchain/store.js";
import { createTestApp, REDIS_URL, type TestApp } from "../api/helpers.js";

let t: TestApp;
const LIMIT = 20;
const ops = loadOpsConfig({
  RATE_LIMIT_PER_IP: String(LIMIT),
  RATE_LIMIT_PER_WALLET: "10",
  RATE_LIMIT_WINDOW_SECONDS: "60",
  CORS_ORIGINS: "https://app.cosmic.test",
});

beforeAll(async () => {
  t = await createTestApp({ kv: "redis", env: { TRUST_PROXY: "1" } });
});
afterAll(async () => {
  await t?.close();
});

const from = (ip: string, headers: Record<string, string> = {}) => ({ headers: { "x-forwarded-for": ip, ...headers } });

describe("rate limits", () => {
  it("admits no more than the limit at 10× load, across two replicas sharing Redis", async () => {
    const replicaKv = new RedisKeyValueStore(REDIS_URL, (t.deps.kv as RedisKeyValueStore).prefix);
    const a = buildApp({ ...t.deps, ops });
    const b = buildApp({ ...t.deps, kv: replicaKv, ops });
    try {
      const ip = `10.0.0.${Math.floor(Math.random() * 250)}`;
      const responses = await Promise.all(Array.from({ length: LIMIT * 10 }, (_, i) => (i % 2 ? a : b).request("/.well-known/jwks.json", from(ip))));
      const ok = responses.filter((r) => r.status === 200);
      const limited = responses.filter((r) => r.status === 429);
      expect(ok).toHaveLength(LIMIT);
      expect(limited).toHaveLength(LIMIT * 9);
      expect(responses.every((r) => r.status < 500)).toBe(true);
      expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(limited[0]!.headers.get("ratelimit-limit")).toBe(String(LIMIT));
      expect(limited[0]!.headers.get("ratelimit-remaining")).toBe("0");
      expect(await limited[0]!.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
      const remaining = ok.map((r) => Number(r.headers.get("ratelimit-remaining"))).sort((x, y) => x - y);
      expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
      // Another IP has its own budget.
      expect((await a.request("/.well-known/jwks.json", from("10.9.9.9"))).status).toBe(200);
    } finally {
      await replicaKv.close();
    }
  });

  it("limits a wallet across IPs (verified token), and never limits health checks", async () => {
    const app = buildApp({ ...t.deps, ops });
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const token = await t.deps.keys.sign({ sub: wallet, sid: randomUUID(), roles: ["user"] });
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => app.request("/.well-known/jwks.json", from(`10.1.${i}.1`, { authorization: `Bearer ${token}` }))),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    // A forged token is not a wallet key (it cannot exhaust someone's budget).
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await app.request("/.well-known/jwks.json", from("10.2.0.1", { authorization: `Bearer ${forged}` }))).status).toBe(200);
    const ip = "10.3.0.1";
    for (let i = 0; i < LIMIT; i++) await app.request("/.well-known/jwks.json", from(ip));
    expect((await app.request("/.well-known/jwks.json", from(ip))).status).toBe(429);
    expect((await app.request("/api/health", from(ip))).status).toBe(200);
  });

  it("sends one Redis round trip per key and turn of the event loop, admitting exactly as one-by-one consumption would", async () => {
    const replicaKv = new RedisKeyValueStore(REDIS_URL, (t.deps.kv as RedisKeyValueStore).prefix);
    const calls = countRateLimitCalls([t.deps.kv as RedisKeyValueStore, replicaKv]);
    const a = buildApp({ ...t.deps, ops });
    const b = buildApp({ ...t.deps, kv: replicaKv, ops });
    try {
      const ip = `10.6.0.${Math.floor(Math.random() * 250)}`;
      // 8 waves of 7 concurrent requests, each wave split over both replicas: 56 requests for a limit of 20.
      const responses: Response[] = [];
      for (let wave = 0; wave < 8; wave++) {
        responses.push(...(await Promise.all(Array.from({ length: 7 }, (_, i) => (i % 2 ? a : b).request("/.well-known/jwks.json", from(ip))))));
        await new Promise((r) => setImmediate(r));
      }
      const ok = responses.filter((r) => r.status === 200);
      expect(ok).toHaveLength(LIMIT);
      expect(responses.filter((r) => r.status === 429)).toHaveLength(56 - LIMIT);
      // Every admitted request saw a distinct count, as if consumed one by one.
      expect(ok.map((r) => Number(r.headers.get("ratelimit-remaining"))).sort((x, y) => x - y)).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
      // At most one call per replica and wave (waves after the refusal are answered from memory).
      expect(calls.count).toBeGreaterThan(0);
      expect(calls.count).toBeLessThanOrEqual(16);
    } finally {
      calls.restore();
      await replicaKv.close();
    }
  });

  it("refuses a client over its limit from memory until its window ends, without a Redis call", async () => {
    const app = buildApp({ ...t.deps, ops });
    const ip = `10.7.0.${Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < LIMIT; i++) expect((await app.request("/.well-known/jwks.json", from(ip))).status).toBe(200);
    expect((await app.request("/.well-known/jwks.json", from(ip))).status).toBe(429);
    const calls = countRateLimitCalls([t.deps.kv as RedisKeyValueStore]);
    try {
      const refused = await Promise.all(Array.from({ length: 30 }, () => app.request("/.well-known/jwks.json", from(ip))));
      expect(refused.every((r) => r.status === 429 && Number(r.headers.get("retry-after")) > 0)).toBe(true);
      expect(await refused[0]!.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
      expect(calls.count).toBe(0);
      // Another client still goes through Redis.
      expect((await app.request("/.well-known/jwks.json", from("10.7.1.1"))).status).toBe(200);
      expect(calls.count).toBe(1);
    } finally {
      calls.restore();
    }
  });
});

describe("served by @hono/node-server", () => {
  it("reads request headers from Node's parsed headers and sets ours on Node's response (success, 404, 429)", async () => {
    const app = buildApp({ ...t.deps, ops });
    const server = await new Promise<{ url: string; close(): void }>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
        resolve({ url: `http://127.0.0.1:${info.port}`, close: () => s.close() }),
      );
    });
    try {
      const get = (headers: Record<string, string>) => fetch(`${server.url}/.well-known/jwks.json`, { headers });
      const own = await get({ "x-request-id": "node-req-1", origin: "https://app.cosmic.test", "x-forwarded-for": "10.9.0.1, 10.0.0.1" });
      expect(own.status).toBe(200);
      expect(own.headers.get("x-request-id")).toBe("node-req-1");
      expect(own.headers.get("access-control-allow-origin")).toBe("https://app.cosmic.test");
      expect(own.headers.get("access-control-allow-credentials")).toBe("true");
      expect(own.headers.get("access-control-expose-headers")).toContain("RateLimit-Remaining");
      expect(own.headers.get("vary")).toContain("Origin");
      expect(own.headers.get("ratelimit-limit")).toBe(String(LIMIT));
      expect(own.headers.get("ratelimit-policy")).toBe(`${LIMIT};w=60`);
      expect(own.headers.get("content-type")).toMatch(/^application\/json/);
      const missing = await fetch(`${server.url}/no/such/route`, { headers: { "x-request-id": "node-req-2", origin: "https://app.cosmic.test" } });
      expect([missing.status, missing.headers.get("x-request-id"), missing.headers.get("access-control-allow-origin")]).toEqual([
        404,
        "node-req-2",
        "https://app.cosmic.test",
      ]);
      expect(await missing.json()).toMatchObject({ error: { code: "ROUTE_NOT_FOUND" } });
      expect((await get({ "x-request-id": "bad id" })).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      // TRUST_PROXY=1: the one proxy in front appends the client's address; whatever the client put
      // left of it (rotated on every request here) does not change its budget.
      const ip = `10.9.1.${Math.floor(Math.random() * 250)}`;
      for (let i = 0; i < LIMIT; i++) expect((await get({ "x-forwarded-for": `198.51.100.${i}, ${ip}` })).status).toBe(200);
      const limited = await get({ "x-forwarded-for": `203.0.113.7, ${ip}`, "x-request-id": "node-req-3", origin: "https://app.cosmic.test" });
      expect(limited.status).toBe(429);
      expect([limited.headers.get("x-request-id"), limited.headers.get("access-control-allow-origin"), limited.headers.get("ratelimit-remaining")]).toEqual([
        "node-req-3",
        "https://app.cosmic.test",
        "0",
      ]);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await get({ "x-forwarded-for": "10.9.2.1" })).status).toBe(200);
    } finally {
      server.close();
    }
  });
});

describe("client IP behind proxies (TRUST_PROXY)", () => {
  it("counts hops from the right, or skips configured proxy CIDRs; the client cannot choose its IP", async () => {
    const { clientAddress } = await import("../../infra/clientIp.js");
    const { loadConfig, parseTrustProxy } = await import("../../infra/config/index.js");
    const xff = "6.6.6.6, 1.2.3.4, 10.0.0.5";
    expect(clientAddress(false, "10.0.0.9", xff)).toBe("10.0.0.9");
    expect(clientAddress(parseTrustProxy("1"), "10.0.0.9", xff)).toBe("10.0.0.5");
    expect(clientAddress(parseTrustProxy("2"), "10.0.0.9", xff)).toBe("1.2.3.4");
    expect(clientAddress(parseTrustProxy("10.0.0.0/8"), "10.0.0.9", xff)).toBe("1.2.3.4");
    expect(clientAddress(parseTrustProxy("10.0.0.0/8, 1.2.3.4"), "10.0.0.9", xff)).toBe("6.6.6.6");
    // Not from a trusted proxy: the header is ignored.
    expect(clientAddress(parseTrustProxy("10.0.0.0/8"), "8.8.8.8", xff)).toBe("8.8.8.8");
    expect(clientAddress(parseTrustProxy("1"), "10.0.0.9", undefined)).toBe("10.0.0.9");
    expect(parseTrustProxy("")).toBe(false);
    expect(parseTrustProxy("false")).toBe(false);
    expect(() => loadConfig({ TRUST_PROXY: "true" })).toThrow(/TRUST_PROXY=true is not accepted/);
    expect(() => loadConfig({ TRUST_PROXY: "10.0.0.0/99" })).toThrow(/TRUST_PROXY:/);
  });

  it("a rotated X-Forwarded-For prefix does not escape the per-IP limit (TRUST_PROXY=1, app.request)", async () => {
    const app = buildApp({ ...t.deps, ops });
    const ip = `10.11.0.${Math.floor(Math.random() * 250)}`;
    const statuses = [];
    for (let i = 0; i < LIMIT + 5; i++)
      statuses.push((await app.request("/.well-known/jwks.json", from(`${randomUUID().slice(0, 3)}.1.1.${i}, ${ip}`))).status);
    expect(statuses.filter((st) => st === 200)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT)).toEqual([429, 429, 429, 429, 429]);
  });
});

describe("behind Ponder's server", () => {
  it("a CORS origin list replaces the '*' of Ponder's own cors() in front of our app", async () => {
    const app = buildApp({ ...t.deps, ops });
    // The shape of `ponder start`: Ponder's Hono with cors({ origin: "*" }), our app routed under it.
    const ponder = new Hono().use(cors({ origin: "*", maxAge: 86400 })).route("/", app);
    const server = await new Promise<{ url: string; close(): void }>((resolve) => {
      const s = serve({ fetch: ponder.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
        resolve({ url: `http://127.0.0.1:${info.port}`, close: () => s.close() }),
      );
    });
    try {
      const get = (origin: string, ip: string) =>
        fetch(`${server.url}/.well-known/jwks.json`, { headers: { origin, "x-forwarded-for": ip, "x-request-id": `ponder-${ip}` } });
      const good = await get("https://app.cosmic.test", "10.10.0.1");
      expect(good.status).toBe(200);
      expect([good.headers.get("access-control-allow-origin"), good.headers.get("access-control-allow-credentials")]).toEqual([
        "https://app.cosmic.test",
        "true",
      ]);
      expect([good.headers.get("x-request-id"), good.headers.get("ratelimit-limit")]).toEqual(["ponder-10.10.0.1", String(LIMIT)]);
      const bad = await get("https://evil.test", "10.10.0.2");
      expect(bad.headers.get("access-control-allow-origin")).toBeNull();
      expect(bad.headers.get("access-control-allow-credentials")).toBeNull();
    } finally {
      server.close();
    }
  });
});

/** Counts the rate limiter's Redis scripts (EVALSHA/EVAL on `rl:` keys) sent by these clients. */
function countRateLimitCalls(stores: RedisKeyValueStore[]) {
  const counter = { count: 0, restore: () => {} };
  const restores = stores.map((store) => {
    const client = store.client as unknown as { sendCommand(command: { name: string; args: unknown[] }, ...rest: unknown[]): unknown };
    const original = client.sendCommand;
    client.sendCommand = function (command, ...rest) {
      if (/^eval/i.test(command.name) && command.args.some((a) => String(a).includes("rl:"))) counter.count++;
      return original.call(this, command, ...rest);
    };
    return () => {
      client.sendCommand = original;
    };
  });
  counter.restore = () => restores.forEach((r) => r());
  return counter;
}

describe("CORS, metrics, health", () => {
  it("allows credentials only for configured origins", async () => {
    const app = buildApp({ ...t.deps, ops });
    const good = await app.request("/.well-known/jwks.json", from("10.4.0.1", { origin: "https://app.cosmic.test" }));
    expect(good.headers.get("access-control-allow-origin")).toBe("https://app.cosmic.test");
    expect(good.headers.get("access-control-allow-credentials")).toBe("true");
    const bad = await app.request("/.well-known/jwks.json", from("10.4.0.2", { origin: "https://evil.test" }));
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
    const any = buildApp({ ...t.deps, ops: loadOpsConfig({}) });
    const open = await any.request("/.well-known/jwks.json", from("10.4.0.3", { origin: "https://evil.test" }));
    expect(open.headers.get("access-control-allow-origin")).toBe("*");
    expect(open.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("puts CORS headers on errors and 429s too, and answers preflights", async () => {
    const app = buildApp({ ...t.deps, ops });
    const origin = { origin: "https://app.cosmic.test" };
    const missing = await app.request("/no/such/route", from("10.4.1.1", origin));
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe("https://app.cosmic.test");
    expect(missing.headers.get("access-control-expose-headers")).toContain("RateLimit-Remaining");
    expect(missing.headers.get("vary")).toContain("Origin");
    const ip = "10.4.1.2";
    for (let i = 0; i < LIMIT; i++) await app.request("/.well-known/jwks.json", from(ip));
    const limited = await app.request("/.well-known/jwks.json", from(ip, origin));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("access-control-allow-origin")).toBe("https://app.cosmic.test");
    expect(limited.headers.get("access-control-expose-headers")).toContain("Retry-After");
    const preflight = await app.request("/nfts/cosmic:1", {
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "GET", "x-forwarded-for": "10.4.1.3" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.cosmic.test");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("GET");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("x-api-key");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
  });

  it("serves Prometheus metrics with latency per route template (token-protected when configured)", async () => {
    const app = buildApp({ ...t.deps, ops: { ...ops, metricsToken: "s3cret-metrics-token" } });
    await app.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`, from("10.5.0.1"));
    expect((await app.request("/api/metrics")).status).toBe(401);
    const res = await app.request("/api/metrics", { headers: { authorization: "Bearer s3cret-metrics-token" } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/cosmic_http_request_duration_seconds_count\{method="GET",route="\/auth\/nonce\/:address",status="200"\} \d+/);
    expect(text).not.toMatch(/route="\/auth\/nonce\/0x/);
    for (const name of [
      "cosmic_ws_connections",
      "cosmic_cache_requests_total",
      "cosmic_bridges_stuck",
      "cosmic_bridge_latency_seconds",
      "cosmic_event_registrations_total",
      "cosmic_rate_limited_total",
    ])
      expect(text).toContain(name);
  });

  it("/api/health reports each dependency; /api/ready is 503 when Postgres is down, degraded (200) when Redis is", async () => {
    const app = buildApp({ ...t.deps, ops });
    const healthy = await app.request("/api/health");
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ status: "ok", checks: { postgres: { ok: true }, redis: { ok: true } } });
    expect((await app.request("/api/ready")).status).toBe(200);

    const deadKv = new RedisKeyValueStore("redis://127.0.0.1:1", "x:");
    const deadStore = createPostgresStore("postgresql://root@127.0.0.1:1/none");
    try {
      const noRedis = await buildApp({ ...t.deps, kv: deadKv, ops }).request("/api/ready");
      expect(noRedis.status).toBe(200);
      expect(await noRedis.json()).toMatchObject({ status: "degraded", checks: { redis: { ok: false } } });
      const noPg = await buildApp({ ...t.deps, store: deadStore, ops }).request("/api/ready");
      expect(noPg.status).toBe(503);
      expect(await noPg.json()).toMatchObject({ status: "down", checks: { postgres: { ok: false } } });
    } finally {
      await deadKv.close();
      await deadStore.close();
    }
  });

  it("/api/health and /api/ready stay cheap under a flood: one probe per process at a time, reused for HEALTH_CACHE_MS", async () => {
    let pings = 0;
    const store = Object.create(t.deps.store, { ping: { value: () => (pings++, t.deps.store.ping()) } }) as typeof t.deps.store;
    const app = buildApp({ ...t.deps, store, ops: { ...ops, health: { ...ops.health, cacheMs: 200 } } });
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => app.request(i % 2 ? "/api/health" : "/api/ready", from(`10.12.${i}.1`))));
    expect(flood.every((r) => r.status === 200)).toBe(true);
    expect(pings).toBe(1);
    for (let i = 0; i < 20; i++) await app.request("/api/health");
    expect(pings).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    await app.request("/api/ready");
    expect(pings).toBe(2);
  });

  it("reports every configuration problem, one line each", () => {
    expect(() => loadOpsConfig({ REALTIME_PORT: "http", RATE_LIMIT_PER_IP: "0", CORS_ORIGINS: "https://ok.test,not a url", METRICS_TOKEN: "short" })).toThrow(
      /REALTIME_PORT: must be an integer.*\nRATE_LIMIT_PER_IP: must be >= 1 \(got 0\)\nCORS_ORIGINS: "not a url" is not an origin.*\nMETRICS_TOKEN: must be at least 16/s,
    );
  });
});

describe("logs", () => {
  it("writes one access line per request with its request id; a route's own lines carry the id and are redacted", async () => {
    const app = buildApp({ ...t.deps, ops });
    app.get("/test/log", (c) => {
      c.get("log").warn({ token: "eyJ.route.secret", detail: "visible-detail" }, "route line");
      return c.json({ ok: true });
    });
    const before = t.logs.length;
    const res = await app.request("/test/log", from("10.8.0.1", { "x-request-id": "log-test-1" }));
    expect(res.status).toBe(200);
    await app.request("/no/such/route", from("10.8.0.1", { "x-request-id": "log-test-2" }));
    await new Promise((r) => setTimeout(r, 20));
    const lines = t.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.filter((l) => l.msg === "request");
    expect(access).toEqual([
      expect.objectContaining({ requestId: "log-test-1", method: "GET", path: "/test/log", status: 200, level: 30, ms: expect.any(Number) }),
      expect.objectContaining({ requestId: "log-test-2", method: "GET", path: "/no/such/route", status: 404 }),
    ]);
    const route = lines.find((l) => l.msg === "route line");
    expect(route).toMatchObject({ requestId: "log-test-1", token: "[redacted]", detail: "visible-detail", level: 40 });
  });

  it("flushes the asynchronous stdout buffer when the process exits", () => {
    const logger = path.resolve("infra/logger.ts");
    const script = `import { createLogger } from ${JSON.stringify(pathToFileURL(logger).href)};
const log = createLogger({ level: "info" });
for (let i = 0; i < 20000; i++) log.info({ i }, "line");
process.exit(0);`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const lines = out.split("\n").filter(Boolean);
    expect(lines).toHaveLength(20000);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ i: 19999, msg: "line" });
  });

  it("redacts tokens wherever they sit in a log object", async () => {
    const { createLogger } = await import("../../infra/logger.js");
    const { logCollector } = await import("../api/helpers.js");
    const sink = logCollector();
    const log = createLogger({ destination: sink.destination });
    log.info({ token: "eyJ.secret.jwt", nested: { access_token: "abc", token: "def", cookie: "sid=1" }, ok: "visible" }, "x");
    await new Promise((r) => setTimeout(r, 10));
    expect(sink.lines.join("\n")).not.toMatch(/eyJ\.secret|abc|def|sid=1/);
    expect(sink.lines.join("\n")).toContain("visible");
  });
});
