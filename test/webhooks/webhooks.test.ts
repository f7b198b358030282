/**
 * Webhooks (issue 12 item 3) against real Postgres and Redis (BullMQ) and a local receiver HTTP
 * server: signed deliveries (verified here with node:crypto), filters, retries on 500, dead letter,
 * a receiver that hangs does not hold up another, replay, secret rotation (two signatures), SSRF
 * refusal 422, retractions and confirmations, and deliveries recorded while the job queue's Redis
 * is killed, delivered once it is restarted. Events enter through the outbox function the notifier
 * calls inside its transaction (webhooks/outbox.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../domain/auth/service.js";
import { buildApp } from "../../api/app.js";
import { createWebhookQueue } from "../../jobs/index.js";
import { freePort } from "../../devnet/anvil.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import type { JobQueue } from "../../jobs/types.js";
import { type WebhookDispatcher, startWebhookDispatcher } from "../../webhooks/dispatcher.js";
import { recordWebhookEvents, releaseConfirmed } from "../../webhooks/outbox.js";
import { announcePush } from "../../realtime/publish.js";
import { createTestApp, REDIS_URL, type TestApp } from "../api/helpers.js";

type Received = { path: string; headers: IncomingMessage["headers"]; body: string; at: number };

let receiver: Server;
let port: number;
const received: Received[] = [];
const failures = new Map<string, number>(); // path → how many 500s before a 200
let t: TestApp;
let app: ReturnType<typeof buildApp>;
let queue: JobQueue;
let dispatcher: WebhookDispatcher;
let key: string;
let userKey: string;

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      if (path.startsWith("/hang")) return; // never answers: the attempt times out
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      if (path.startsWith("/dead")) return void res.writeHead(500).end("always down");
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        return void res.writeHead(503).end("try later");
      }
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  port = (receiver.address() as AddressInfo).port;
  t = await createTestApp({
    kv: "redis",
    env: {
      WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`,
      WEBHOOK_MAX_ATTEMPTS: "3",
      WEBHOOK_BACKOFF_MS: "50",
      WEBHOOK_TIMEOUT_MS: "400",
      WEBHOOK_SWEEP_MS: "50",
      WEBHOOK_SECRET_OVERLAP_SECONDS: "3600",
    },
  });
  const config = { ...t.deps.config, redisUrl: REDIS_URL, redisPrefix: (t.deps.kv as { prefix?: string }).prefix ?? "test:" };
  const deps = { ...t.deps, config };
  queue = createWebhookQueue(deps);
  await queue.start();
  dispatcher = startWebhookDispatcher({ store: t.deps.store, queue, config, logger: t.deps.logger });
  app = buildApp({ ...deps, jobs: queue });
  const auth = new AuthService(deps);
  key = (await auth.createApiKey("test", "integrator", ["webhooks"])).key;
  userKey = (await auth.createApiKey("test", "plain", ["user"])).key;
}, 60_000);

afterAll(async () => {
  await dispatcher?.stop();
  await queue?.close();
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

const call = async (method: string, path: string, body?: unknown, apiKey = key) => {
  const res = await app.request(path, {
    method,
    headers: { "x-api-key": apiKey, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const subscribe = async (body: Record<string, unknown>) => {
  const r = await call("POST", "/webhooks", body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string };
};
let serial = 0;
const mintEvent = (over: Record<string, unknown> = {}) => {
  serial++;
  const block = 100 + serial;
  return {
    type: "nft:minted",
    id: `31337:${block}:0:0x${String(serial).padStart(64, "0")}`,
    rooms: ["collection:cosmic"],
    data: { chainId: 31337, blockNumber: String(block), logIndex: 0, collection: "cosmic", tokenId: String(serial), from: null, to: ALICE, ...over },
  };
};
const record = (...envelopes: ReturnType<typeof mintEvent>[]) => recordWebhookEvents(t.deps.store.db, envelopes, { maxAttempts: 3 });
const at = (path: string) => received.filter((r) => r.path === path);
async function until<T>(what: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}
const deliveries = async (id: string) => (await call("GET", `/webhooks/${id}/deliveries`)).body.items as any[];

/** What a receiver does (docs/webhooks.md). */
function verify(secret: string, r: Received): boolean {
  const timestamp = String(r.headers["webhook-timestamp"]);
  const expected = createHmac("sha256", secret).update(`${timestamp}.${r.body}`).digest("hex");
  return String(r.headers["webhook-signature"]).split(",").includes(`v1=${expected}`);
}

describe("webhook subscriptions", () => {
  it("refuses URLs the SSRF guard refuses (422) and callers without the role (403); lists and deletes", async () => {
    for (const bad of [
      "http://10.0.0.1/hook",
      "http://169.254.169.254/latest/meta-data",
      `http://127.0.0.1:${port + 1}/x`,
      "http://[::1]/x",
      "http://localhost:9/x",
      "http://0x7f000001/x",
    ]) {
      const r = await call("POST", "/webhooks", { url: bad, eventTypes: ["nft:minted"] });
      expect(r.status, bad).toBe(422);
      expect(r.body.error.code, bad).toBe("SSRF_BLOCKED");
    }
    expect((await call("POST", "/webhooks", { url: "ftp://example.com/x", eventTypes: ["nft:minted"] })).status).toBe(400);
    expect((await call("POST", "/webhooks", { url: url("/ok"), eventTypes: ["no:such"] })).status).toBe(400);
    expect((await call("POST", "/webhooks", { url: url("/ok"), eventTypes: ["nft:minted"] }, userKey)).status).toBe(403);
    const created = await subscribe({ url: url("/tmp"), eventTypes: ["nft:minted"] });
    expect(created.secret).toMatch(/^whsec_/);
    const list = await call("GET", "/webhooks");
    expect(list.body.items.map((w: any) => w.id)).toContain(created.id);
    expect(JSON.stringify(list.body)).not.toContain(created.secret);
    expect((await call("DELETE", `/webhooks/${created.id}`)).status).toBe(204);
    expect((await call("GET", `/webhooks/${created.id}`)).status).toBe(404);
    // The secret never reaches the logs.
    expect(t.logs.join("\n")).not.toContain(created.secret);
  });

  it("delivers signed events (HMAC over timestamp.body) with the push id as idempotency id, by type and filters", async () => {
    const all = await subscribe({ url: url("/all"), eventTypes: ["nft:minted", "nft:transferred"] });
    const other = await subscribe({ url: url("/other-collection"), eventTypes: ["nft:minted"], filters: { collections: ["other"] } });
    const bob = await subscribe({ url: url("/bob"), eventTypes: ["nft:minted"], filters: { addresses: [BOB.toLowerCase()] } });
    const chain = await subscribe({ url: url("/chain"), eventTypes: ["nft:minted"], filters: { chainIds: [31338] } });
    const e1 = mintEvent();
    const e2 = mintEvent({ to: BOB });
    const e3 = mintEvent({ chainId: 31338 });
    expect(await record(e1, e2, e3)).toBeGreaterThan(0);
    await until(() => at("/all").length >= 3);
    await until(() => at("/bob").length >= 1 && at("/chain").length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    const got = at("/all");
    expect(got.map((r) => r.headers["webhook-id"]).sort()).toEqual([e1.id, e2.id, e3.id].sort());
    for (const r of got) {
      expect(verify(all.secret, r)).toBe(true);
      expect(verify(other.secret, r)).toBe(false);
      const body = JSON.parse(r.body);
      expect(body).toMatchObject({ id: r.headers["webhook-id"], type: "nft:minted" });
      expect(Math.abs(Number(r.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    }
    expect(at("/other-collection")).toHaveLength(0);
    expect(at("/bob").map((r) => r.headers["webhook-id"])).toEqual([e2.id]);
    expect(at("/chain").map((r) => r.headers["webhook-id"])).toEqual([e3.id]);
    expect(verify(bob.secret, at("/bob")[0]!) && verify(chain.secret, at("/chain")[0]!)).toBe(true);
    const log = await deliveries(all.id);
    expect(log).toHaveLength(3);
    expect(log.every((d) => d.status === "delivered" && d.attempts === 1 && d.lastStatus === 200)).toBe(true);
    // Recording the same push again (a notifier tick repeated after a crash) adds no delivery.
    expect(await record(e1)).toBe(0);
    for (const s of [all, other, bob, chain]) await call("DELETE", `/webhooks/${s.id}`);
  });

  it("retries a 5xx with backoff until it succeeds; dead-letters after the bound", async () => {
    failures.set("/flaky", 2);
    const flaky = await subscribe({ url: url("/flaky"), eventTypes: ["nft:minted"] });
    const dead = await subscribe({ url: url("/dead"), eventTypes: ["nft:minted"] });
    const e = mintEvent();
    await record(e);
    await until(() => at("/flaky").length >= 3);
    await until(() => at("/dead").length >= 3);
    const waitStatus = async (id: string, status: string) => {
      const end = Date.now() + 10_000;
      for (;;) {
        const items = await deliveries(id);
        if (items[0]?.status === status) return items[0];
        if (Date.now() > end) throw new Error(`delivery of ${id} still ${items[0]?.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const delivered = await waitStatus(flaky.id, "delivered");
    expect(delivered).toMatchObject({ attempts: 3, lastStatus: 200, pushId: e.id });
    expect(delivered.attemptLog.map((a: any) => a.status)).toEqual([503, 503, 200]);
    const flakyTimes = at("/flaky").map((r) => r.at);
    // Exponential: the second gap (≥ 100 ms) is at least the first (≥ 50 ms).
    expect(flakyTimes[1]! - flakyTimes[0]!).toBeGreaterThanOrEqual(40);
    expect(flakyTimes[2]! - flakyTimes[1]!).toBeGreaterThanOrEqual(90);
    const letter = await waitStatus(dead.id, "dead");
    expect(letter).toMatchObject({ attempts: 3, maxAttempts: 3, lastStatus: 500, lastError: "HTTP 500" });
    await new Promise((r) => setTimeout(r, 500));
    expect(at("/dead")).toHaveLength(3);
    expect((await call("GET", `/webhooks/${dead.id}/deliveries?status=dead`)).body.items).toHaveLength(1);
    // Replay from the event: delivered again with the same idempotency id.
    failures.set("/flaky", 0);
    const replay = await call("POST", `/webhooks/${flaky.id}/replay?from=${encodeURIComponent(e.id)}`);
    expect(replay.status).toBe(202);
    expect(replay.body.replayed).toBe(1);
    await until(() => at("/flaky").length >= 4);
    expect(at("/flaky")[3]!.headers["webhook-id"]).toBe(e.id);
    expect(verify(flaky.secret, at("/flaky")[3]!)).toBe(true);
    expect((await call("POST", `/webhooks/${flaky.id}/replay?from=nonsense`)).status).toBe(422);
    for (const s of [flaky, dead]) await call("DELETE", `/webhooks/${s.id}`);
  });

  it("a receiver that hangs is timed out and retried without holding up another subscription", async () => {
    const hang = await subscribe({ url: url("/hang"), eventTypes: ["nft:minted"] });
    const fast = await subscribe({ url: url("/fast"), eventTypes: ["nft:minted"] });
    const started = Date.now();
    // 20 events: 20 attempts hanging for 400 ms each, and 20 that should go through at once.
    await record(...Array.from({ length: 20 }, () => mintEvent()));
    await until(() => at("/fast").length >= 20);
    expect(Date.now() - started).toBeLessThan(1_500);
    const end = Date.now() + 10_000;
    let items: any[] = [];
    while (Date.now() < end) {
      items = await deliveries(hang.id);
      if (items.some((d) => d.attempts >= 2)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(items.some((d) => d.attempts >= 2 && /TIMEOUT/.test(d.lastError ?? ""))).toBe(true);
    for (const s of [hang, fast]) await call("DELETE", `/webhooks/${s.id}`);
  });

  it("pushes announced by the API and jobs (an async mint's completion) are delivered like the notifier's", async () => {
    const hook = await subscribe({ url: url("/mints"), eventTypes: ["mint:completed"], filters: { collections: ["cosmic"] } });
    const push = {
      id: `mint:completed:job-${serial++}`,
      type: "mint:completed",
      rooms: [`user:${ALICE}`],
      data: { jobId: "job", collection: "cosmic", chainId: 31337, tokens: [] },
    };
    await announcePush(t.deps.kv, t.deps.logger, push, { store: t.deps.store, maxAttempts: 3 });
    const got = await until(() => at("/mints")[0]);
    expect(got.headers["webhook-id"]).toBe(push.id);
    expect(verify(hook.secret, got)).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({ id: push.id, type: "mint:completed", data: { jobId: "job", collection: "cosmic" } });
  });

  it("test endpoint; rotation signs with both secrets during the overlap", async () => {
    const sub = await subscribe({ url: url("/rotate"), eventTypes: ["nft:minted"] });
    const test = await call("POST", `/webhooks/${sub.id}/test`);
    expect(test.status).toBe(202);
    await until(() => at("/rotate").length >= 1);
    expect(JSON.parse(at("/rotate")[0]!.body)).toMatchObject({ type: "webhook:test", data: { subscriptionId: sub.id } });
    expect(verify(sub.secret, at("/rotate")[0]!)).toBe(true);
    const rotated = await call("POST", `/webhooks/${sub.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(sub.secret);
    await record(mintEvent());
    await until(() => at("/rotate").length >= 2);
    const r = at("/rotate")[1]!;
    expect(String(r.headers["webhook-signature"]).split(",")).toHaveLength(2);
    expect(verify(sub.secret, r)).toBe(true);
    expect(verify(rotated.body.secret, r)).toBe(true);
    expect((await call("GET", `/webhooks/${sub.id}`)).body.secretRotatedUntil).toBe(rotated.body.previousSecretExpiresAt);
    await call("DELETE", `/webhooks/${sub.id}`);
  });

  it("a reorg sends a retraction to subscriptions that had the event; one waiting for confirmations hears of neither", async () => {
    const now = await subscribe({ url: url("/now"), eventTypes: ["nft:minted"] });
    const confirmed = await subscribe({ url: url("/confirmed"), eventTypes: ["nft:minted"], minConfirmations: 5 });
    const kept = mintEvent();
    const reorged = mintEvent();
    await record(kept, reorged);
    await until(() => at("/now").length >= 2);
    expect(at("/confirmed")).toHaveLength(0);
    expect((await deliveries(confirmed.id)).map((d) => d.status)).toEqual(["waiting", "waiting"]);
    // The notifier retracts `reorged`: a `reorg` push naming it, with its data.
    await recordWebhookEvents(
      t.deps.store.db,
      [{ type: "reorg", id: `reorg:${reorged.id}`, rooms: reorged.rooms, data: { retracts: reorged.id, retractedType: "nft:minted", ...reorged.data } }],
      { maxAttempts: 3 },
    );
    await until(() => at("/now").length >= 3);
    const retraction = JSON.parse(at("/now")[2]!.body);
    expect(retraction).toMatchObject({ type: "reorg", id: `reorg:${reorged.id}`, data: { retracts: reorged.id, retractedType: "nft:minted" } });
    // Confirmations reached for the kept one: released, delivered; the retracted one was cancelled.
    await releaseConfirmed(t.deps.store.db, [{ chainId: 31337, block: Number(kept.data.blockNumber) + 5 }]);
    await until(() => at("/confirmed").length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(at("/confirmed").map((r) => r.headers["webhook-id"])).toEqual([kept.id]);
    expect((await deliveries(confirmed.id)).map((d) => d.status).sort()).toEqual(["cancelled", "delivered"]);
    for (const s of [now, confirmed]) await call("DELETE", `/webhooks/${s.id}`);
  });

  it("Redis killed: deliveries recorded meanwhile stay pending in Postgres and are delivered once it is back", async () => {
    // A disposable redis-server of this test (never the shared one) for the job queue.
    const redisPort = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), "webhook-redis-"));
    let redis: ChildProcess | undefined;
    const startRedis = async () => {
      redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
        stdio: "ignore",
      });
      const probe = new RedisKeyValueStore(`redis://127.0.0.1:${redisPort}`);
      try {
        for (let i = 0; i < 100 && !(await probe.ping()); i++) await new Promise((r) => setTimeout(r, 50));
      } finally {
        await probe.close();
      }
    };
    const stopRedis = async () => {
      const child = redis!;
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    };
    await startRedis();
    await dispatcher.stop();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const config = { ...t.deps.config, redisUrl, redisPrefix: "outage:" };
    const own = createWebhookQueue({ ...t.deps, config });
    await own.start();
    const ownDispatcher = startWebhookDispatcher({ store: t.deps.store, queue: own, config, logger: t.deps.logger });
    const sub = await subscribe({ url: url("/outage"), eventTypes: ["nft:minted"] });
    try {
      const before = mintEvent();
      await record(before);
      await until(() => at("/outage").length >= 1);
      await stopRedis();
      const during = [mintEvent(), mintEvent()];
      await record(...during);
      // Enqueueing fails or does not answer; the rows stay (or go back to) pending.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(at("/outage")).toHaveLength(1);
      const statuses = (await deliveries(sub.id)).map((d) => d.status);
      expect(statuses.filter((s) => s === "delivered")).toHaveLength(1);
      for (const s of statuses.filter((s) => s !== "delivered")) expect(["pending", "queued"]).toContain(s);
      await startRedis();
      await until(() => new Set(at("/outage").map((r) => r.headers["webhook-id"])).size >= 3, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      // Each once: a job queued late (its enqueue answered after the sweep gave up) is skipped.
      expect(
        at("/outage")
          .map((r) => r.headers["webhook-id"])
          .sort(),
      ).toEqual([before, ...during].map((e) => e.id).sort());
      const end = Date.now() + 10_000;
      while ((await deliveries(sub.id)).some((d) => d.status !== "delivered") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect((await deliveries(sub.id)).map((d) => d.status)).toEqual(["delivered", "delivered", "delivered"]);
    } finally {
      await ownDispatcher.stop();
      await Promise.race([own.close(), new Promise((r) => setTimeout(r, 2_000))]);
      await stopRedis().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      dispatcher = startWebhookDispatcher({ store: t.deps.store, queue, config: t.deps.config, logger: t.deps.logger });
      await call("DELETE", `/webhooks/${sub.id}`);
    }
  }, 60_000);
});
