/**
 * `npm run bench:fanout [-- --sockets 1000] [--webhooks 100] [--events 20]`
 *
 * One push delivered everywhere at once (issue 12's fan-out bench): `--sockets` WebSockets in a
 * collection room on a realtime replica, and `--webhooks` webhook subscriptions for the push type,
 * each a local receiver URL. Each event is committed the way the notifier commits a row: in one
 * Postgres transaction its webhook outbox rows are written (webhooks/outbox.ts) and the push is
 * appended to the resume log and published (realtime/pushLog.ts); t0 = the commit. Measured per
 * event: commit → the last socket has it, commit → the last webhook receiver has its POST, and the
 * p50/p99 over every (event, socket) and (event, subscription) pair. Baseline, same run: one socket
 * and one subscription. Real Postgres (TEST_DATABASE_URL) and Redis (BullMQ queue, pub/sub); the
 * sockets and receivers live in this process, so their own parsing shares its event loop.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { AuthService } from "../domain/auth/service.js";
import { buildApp } from "../api/app.js";
import { createWebhookQueue } from "../jobs/index.js";
import { publishPush } from "../realtime/pushLog.js";
import { startWebhookDispatcher } from "../webhooks/dispatcher.js";
import { recordWebhookEvents } from "../webhooks/outbox.js";
import { createTestApp, REDIS_URL } from "../test/api/helpers.js";
import { startCluster } from "../test/realtime/helpers.js";
import { pct } from "./lib/timing.js";

const { values } = parseArgs({
  options: { sockets: { type: "string", default: "1000" }, webhooks: { type: "string", default: "100" }, events: { type: "string", default: "20" } },
});
const SOCKETS = Number(values.sockets);
const HOOKS = Number(values.webhooks);
const EVENTS = Number(values.events);
const log = (line: string) => console.log(`[bench] ${line}`);

// Webhook receivers: one server, one path per subscription.
const hookArrivals = new Map<string, number[]>(); // push id → arrival times
const receiver = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const id = String(req.headers["webhook-id"]);
    (hookArrivals.get(id) ?? hookArrivals.set(id, []).get(id)!).push(performance.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const port = (receiver.address() as AddressInfo).port;

const t = await createTestApp({ kv: "redis", env: { WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`, WEBHOOK_SWEEP_MS: "50", WEBHOOK_CONCURRENCY: "32" } });
const config = { ...t.deps.config, redisUrl: REDIS_URL, redisPrefix: (t.deps.kv as { prefix?: string }).prefix ?? "test:" };
const queue = createWebhookQueue({ ...t.deps, config });
await queue.start();
const dispatcher = startWebhookDispatcher({ store: t.deps.store, queue, config, logger: t.deps.logger });
const app = buildApp({ ...t.deps, config, jobs: queue });
const key = (await new AuthService(t.deps).createApiKey("bench", "bench", ["webhooks"])).key;
// One IP opens every socket: lift the per-IP handshake limit.
const cluster = await startCluster({ count: 1, base: t, ops: { RATE_LIMIT_PER_IP: "10000000" } });
const url = cluster.replicas[0]!.realtime.server.url;

const socketArrivals = new Map<string, number[]>();
const sockets: WebSocket[] = [];
async function openSockets(room: string, n: number) {
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
    ws.on("message", (raw) => {
      const m = JSON.parse(raw.toString()) as { type: string; id?: string };
      if (m.type === "nft:minted" && m.id) (socketArrivals.get(m.id) ?? socketArrivals.set(m.id, []).get(m.id)!).push(performance.now());
    });
    ws.send(JSON.stringify({ type: "subscribe", rooms: [room] }));
    sockets.push(ws);
  }
}
async function subscribeHooks(collection: string, n: number) {
  for (let i = 0; i < n; i++) {
    const res = await app.request("/webhooks", {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/h/${collection}/${i}`, eventTypes: ["nft:minted"], filters: { collections: [collection] } }),
    });
    if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
  }
}

/** EVENTS events to `collection`, one at a time: committed like the notifier, then waited for everywhere. */
async function run(collection: string, expectSockets: number, expectHooks: number) {
  const toLastSocket: number[] = [];
  const toLastHook: number[] = [];
  const perSocket: number[] = [];
  const perHook: number[] = [];
  for (let e = 0; e < EVENTS; e++) {
    const id = `fanout:${collection}:${e}:${randomUUID()}`;
    const envelope = {
      id,
      type: "nft:minted",
      rooms: [`collection:${collection}`],
      data: { collection, chainId: 31337, blockNumber: String(e), tokenId: String(e) },
    };
    let t0 = 0;
    await t.deps.store.db.transaction(async (tx) => {
      await recordWebhookEvents(tx, [envelope], { maxAttempts: 3 });
      await publishPush(t.deps.kv, envelope);
      t0 = performance.now();
    });
    const deadline = performance.now() + 30_000;
    while (((socketArrivals.get(id)?.length ?? 0) < expectSockets || (hookArrivals.get(id)?.length ?? 0) < expectHooks) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
    const s = socketArrivals.get(id) ?? [];
    const h = hookArrivals.get(id) ?? [];
    if (s.length < expectSockets || h.length < expectHooks)
      throw new Error(`event ${e}: ${s.length}/${expectSockets} sockets, ${h.length}/${expectHooks} webhooks within 30 s`);
    toLastSocket.push(Math.max(...s) - t0);
    toLastHook.push(Math.max(...h) - t0);
    perSocket.push(...s.map((x) => x - t0));
    perHook.push(...h.map((x) => x - t0));
  }
  return { toLastSocket, toLastHook, perSocket, perHook };
}

log(`baseline: 1 socket, 1 webhook subscription; then ${SOCKETS} sockets and ${HOOKS} subscriptions; ${EVENTS} events each`);
await openSockets("collection:solo", 1);
await subscribeHooks("solo", 1);
await new Promise((r) => setTimeout(r, 500));
const base = await run("solo", 1, 1);
await openSockets("collection:crowd", SOCKETS);
await subscribeHooks("crowd", HOOKS);
await new Promise((r) => setTimeout(r, 1_000));
const crowd = await run("crowd", SOCKETS, HOOKS);
const line = (label: string, xs: number[]) => `${label.padEnd(52)} p50 ${pct(xs, 50).toFixed(1)} ms p99 ${pct(xs, 99).toFixed(1)} ms`;
log(line("baseline commit → the socket", base.perSocket));
log(line("baseline commit → the webhook", base.perHook));
log(line(`commit → last of ${SOCKETS} sockets`, crowd.toLastSocket));
log(line(`commit → every socket (${crowd.perSocket.length} pairs)`, crowd.perSocket));
log(line(`commit → last of ${HOOKS} webhooks`, crowd.toLastHook));
log(line(`commit → every webhook (${crowd.perHook.length} pairs)`, crowd.perHook));

for (const ws of sockets) ws.terminate();
await dispatcher.stop();
await queue.close();
await cluster.close();
await t.close();
receiver.close();
process.exit(0);
