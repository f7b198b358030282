/**
 * Redis stopped mid-traffic (a disposable redis-server of this test, never the shared one):
 * reads keep answering (no 5xx), auth answers 503 (fails closed), and everything recovers by
 * itself when Redis returns — including the WebSocket fan-out (ioredis resubscribes).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { AuthService } from "../../domain/auth/service.js";
import { freePort } from "../../devnet/anvil.js";
import { cached } from "../../infra/cache.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { REALTIME_CHANNEL } from "../../realtime/protocol.js";
import { startRealtime } from "../../realtime/service.js";
import { createTestApp, type TestApp } from "../api/helpers.js";
import { connect } from "../realtime/helpers.js";

let t: TestApp;
let port: number;
let redis: ChildProcess | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), "redis-outage-"));

async function startRedis() {
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  const probe = new RedisKeyValueStore(`redis://127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 100 && !(await probe.ping()); i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await probe.close();
  }
}
async function stopRedis() {
  const child = redis;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  t = await createTestApp({ kv: "memory" });
});
afterAll(async () => {
  await stopRedis();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Redis outage", () => {
  it("no 5xx on reads, 503 on auth while down; automatic recovery", async () => {
    const kv = new RedisKeyValueStore(`redis://127.0.0.1:${port}`, "outage:");
    const ops = loadOpsConfig({ RATE_LIMIT_PER_IP: "100000", RATE_LIMIT_PER_WALLET: "100000", REALTIME_PORT: "0" });
    const deps = { ...t.deps, kv, ops };
    const app = buildApp(deps);
    const realtime = await startRealtime({ kv, store: t.deps.store, logger: t.deps.logger, auth: new AuthService(deps), indexed: undefined, ops });
    const socket = await connect(realtime.server.url);
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const token = await t.deps.keys.sign({ sub: wallet, sid: randomUUID(), roles: ["user"] });
    let loads = 0;
    const cachedRead = () => cached(kv, ["outage", "x"], 60_000, async () => ++loads);
    try {
      socket.send({ type: "subscribe", rooms: ["event:outage"] });
      await socket.next((m) => m.type === "subscribed");
      const nonce = () => app.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`);
      const me = () => app.request("/auth/me", { headers: { authorization: `Bearer ${token}` } });
      expect((await nonce()).status).toBe(200);
      expect((await me()).status).toBe(404); // authenticated; this wallet never signed in
      await cachedRead();

      // Background read traffic for the whole test.
      const readStatuses: number[] = [];
      let running = true;
      const traffic = (async () => {
        while (running) {
          const rs = await Promise.all([app.request("/.well-known/jwks.json"), app.request(`/events/${randomUUID()}`), app.request("/api/health")]);
          readStatuses.push(...rs.map((r) => r.status));
          await cachedRead();
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await new Promise((r) => setTimeout(r, 200));

      await stopRedis();
      await new Promise((r) => setTimeout(r, 300));
      const downStarted = readStatuses.length;
      const started = Date.now();
      const down = await nonce();
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ error: { code: "DEPENDENCY_UNAVAILABLE" } });
      expect((await me()).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5_000);
      const health = await (await app.request("/api/health")).json();
      expect(health).toMatchObject({ status: "degraded", checks: { redis: { ok: false } } });
      await new Promise((r) => setTimeout(r, 500));
      expect(readStatuses.length).toBeGreaterThan(downStarted); // reads kept flowing while down

      await startRedis();
      const deadline = Date.now() + 15_000;
      while ((await nonce()).status !== 200) {
        if (Date.now() > deadline) throw new Error("auth did not recover");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await me()).status).toBe(404);
      // Fan-out resumes: the subscriber reconnected and resubscribed.
      const seen = Date.now() + 10_000;
      while (!socket.messages.some((m) => m.type === "event:registered")) {
        await kv.publish(REALTIME_CHANNEL, JSON.stringify({ type: "event:registered", rooms: ["event:outage"], data: {} })).catch(() => {});
        if (Date.now() > seen) throw new Error("fan-out did not recover");
        await new Promise((r) => setTimeout(r, 200));
      }
      running = false;
      await traffic;
      expect(readStatuses.filter((s) => s >= 500)).toEqual([]);
      expect(readStatuses.length).toBeGreaterThan(30);
    } finally {
      socket.close();
      await realtime.close();
      await kv.close();
    }
  }, 60_000);
});
