/**
 * Rate limits (rate-limiter-flexible) across two replicas at 10× the limit, per IP and per wallet,
 * with RateLimit-* / Retry-After headers; CORS from configuration; /api/metrics; /api/health and
 * /api/ready; configuration errors one per line.
 */
import { randomUUID } from "node:crypto";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { loadOpsConfig } from "../../infra/opsConfig.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createPostgresStore } from "../../offchain/store.js";
import { createTestApp, REDIS_URL, type TestApp } from "../api/helpers.js";

let t: TestApp;
const LIMIT = 20;
const ops = loadOpsConfig({ RATE_LIMIT_PER_IP: String(LIMIT), RATE_LIMIT_PER_WALLET: "10", RATE_LIMIT_WINDOW_SECONDS: "60", CORS_ORIGINS: "https://app.cosmic.test" });

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
});

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

  it("serves Prometheus metrics with latency per route template (token-protected when configured)", async () => {
    const app = buildApp({ ...t.deps, ops: { ...ops, metricsToken: "s3cret-metrics-token" } });
    await app.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`, from("10.5.0.1"));
    expect((await app.request("/api/metrics")).status).toBe(401);
    const res = await app.request("/api/metrics", { headers: { authorization: "Bearer s3cret-metrics-token" } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/cosmic_http_request_duration_seconds_count\{method="GET",route="\/auth\/nonce\/:address",status="200"\} \d+/);
    expect(text).not.toMatch(/route="\/auth\/nonce\/0x/);
    for (const name of ["cosmic_ws_connections", "cosmic_cache_requests_total", "cosmic_bridges_stuck", "cosmic_bridge_latency_seconds", "cosmic_event_registrations_total", "cosmic_rate_limited_total"])
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

  it("reports every configuration problem, one line each", () => {
    expect(() => loadOpsConfig({ REALTIME_PORT: "http", RATE_LIMIT_PER_IP: "0", CORS_ORIGINS: "https://ok.test,not a url", METRICS_TOKEN: "short" })).toThrow(
      /REALTIME_PORT: must be an integer.*\nRATE_LIMIT_PER_IP: must be between 1.*\nCORS_ORIGINS: "not a url" is not an origin.*\nMETRICS_TOKEN: must be at least 16/s,
    );
  });
});

describe("logs", () => {
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
