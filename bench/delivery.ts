/**
 * npm run bench:delivery — webhook delivery latency (outbox row written → receiver has the POST) for
 * N events (N=500, one every ~5 ms, one subscription, real Postgres + BullMQ on Redis), and resume:
 * M pushes (M=10000) appended to the Redis log, then a socket on the other replica resumes from the
 * first id (half of them in its room). Needs Postgres on TEST_DATABASE_URL and Redis on :6379.
 * Not part of `npm run bench`'s table (no baseline to compare with); results in docs/webhooks.md
 * and docs/realtime.md.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import { AuthService } from "../domain/auth/service.js";
import { buildApp } from "../api/app.js";
import { createWebhookQueue } from "../jobs/index.js";
import { startWebhookDispatcher } from "../webhooks/dispatcher.js";
import { recordWebhookEvents } from "../webhooks/outbox.js";
import { publishPush } from "../realtime/pushLog.js";
import { createTestApp, REDIS_URL } from "../test/api/helpers.js";
import { startCluster } from "../test/realtime/helpers.js";
import { pct } from "./lib/timing.js";

// 1. Webhook delivery latency: outbox write → receiver, N events, one subscription.
const N = Number(process.env.N ?? 500);
const sent = new Map<string, number>();
const lat: number[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const id = String(req.headers["webhook-id"]);
    const t0 = sent.get(id);
    if (t0) {
      lat.push(performance.now() - t0);
      sent.delete(id);
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const port = (receiver.address() as AddressInfo).port;
const t = await createTestApp({ kv: "redis", env: { WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`, WEBHOOK_SWEEP_MS: String(process.env.SWEEP ?? 50) } });
const config = { ...t.deps.config, redisUrl: REDIS_URL, redisPrefix: (t.deps.kv as { prefix?: string }).prefix ?? "test:" };
const queue = createWebhookQueue({ ...t.deps, config });
await queue.start();
const dispatcher = startWebhookDispatcher({ store: t.deps.store, queue, config, logger: t.deps.logger });
const app = buildApp({ ...t.deps, config, jobs: queue });
const key = (await new AuthService(t.deps).createApiKey("m", "m", ["webhooks"])).key;
const res = await app.request("/webhooks", {
  method: "POST",
  headers: { "x-api-key": key, "content-type": "application/json" },
  body: JSON.stringify({ url: `http://127.0.0.1:${port}/h`, eventTypes: ["nft:minted"] }),
});
if (res.status !== 201) throw new Error(await res.text());
const started = performance.now();
for (let i = 0; i < N; i++) {
  const id = `m:${i}:${randomUUID()}`;
  sent.set(id, performance.now());
  await recordWebhookEvents(t.deps.store.db, [{ id, type: "nft:minted", rooms: [], data: { collection: "cosmic", chainId: 1, blockNumber: String(i) } }], {
    maxAttempts: 3,
  });
  await new Promise((r) => setTimeout(r, 5));
}
while (lat.length < N && performance.now() - started < 120_000) await new Promise((r) => setTimeout(r, 50));
const total = performance.now() - started;
console.log(
  `webhooks: ${lat.length}/${N} delivered, outbox→received p50 ${pct(lat, 50).toFixed(0)} ms p95 ${pct(lat, 95).toFixed(0)} ms max ${Math.max(...lat).toFixed(0)} ms; ${(lat.length / (total / 1000)).toFixed(0)}/s over ${(total / 1000).toFixed(1)} s (sweep ${config.webhooks.sweepMs} ms, concurrency ${config.webhooks.concurrency})`,
);
await dispatcher.stop();
await queue.close();

// 2. Resume: M pushes missed, reconnect with the last id, time to the `resumed` marker.
const cluster = await startCluster({ count: 2, base: t });
const [a, b] = cluster.replicas as any[];
const M = Number(process.env.M ?? 10_000);
const first = `r:first:${randomUUID()}`;
await publishPush(a.deps.kv, { id: first, type: "nft:minted", rooms: ["collection:bench"], data: { i: -1 } });
const p0 = performance.now();
for (let i = 0; i < M; i++)
  await publishPush(a.deps.kv, {
    id: `r:${i}:${first}`,
    type: "nft:minted",
    rooms: [i % 2 ? "collection:bench" : "collection:other"],
    data: { i, collection: "bench", tokenId: String(i) },
  });
const appendMs = performance.now() - p0;
const ws = new WebSocket(`${b.realtime.server.url}?resume=${encodeURIComponent(first)}&rooms=collection:bench`);
const t0 = performance.now();
let got = 0;
await new Promise<void>((resolve) =>
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === "nft:minted") got++;
    if (m.type === "resumed") resolve();
  }),
);
const replayMs = performance.now() - t0;
console.log(
  `resume: ${M} pushes appended in ${appendMs.toFixed(0)} ms (${((appendMs * 1000) / M).toFixed(0)} µs each, sequential); reconnect with ?resume → ${got} replayed (the socket's room, half of them) in ${replayMs.toFixed(0)} ms`,
);
ws.terminate();
await cluster.close();
await t.close();
receiver.close();
process.exit(0);
