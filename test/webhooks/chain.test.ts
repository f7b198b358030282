/**
 * Webhooks end to end from the chain: devnet → Ponder (Postgres) → the notifier (its transaction
 * writes the outbox) → dispatcher → BullMQ → a receiver in the test. A mint is delivered with the
 * same id as its WebSocket push; a subscription asking for 3 confirmations gets it only once the
 * chain is indexed 3 blocks past it; a reorg that removes a delivered transfer sends a `reorg`
 * retraction naming it.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { buildApp } from "../../api/app.js";
import { AuthService } from "../../domain/auth/service.js";
import { connectIndexedDb } from "../../read/db.js";
import type { Devnet } from "../../devnet/start.js";
import { createWebhookQueue } from "../../jobs/index.js";
import type { JobQueue } from "../../jobs/types.js";
import { type WebhookDispatcher, startWebhookDispatcher } from "../../webhooks/dispatcher.js";
import { createTestApp, PG_URL, REDIS_URL, type TestApp } from "../api/helpers.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { cleanupPonder, type PonderInstance, startPonder, waitForHead } from "../helpers/ponder.js";
import { type Cluster, connect, startCluster, type TestSocket } from "../realtime/helpers.js";

type Received = { path: string; headers: IncomingMessage["headers"]; body: any; raw: string };
let receiver: Server;
let port: number;
const received: Received[] = [];
let devnet: Devnet;
let ponder: PonderInstance;
let base: TestApp;
let cluster: Cluster;
let queue: JobQueue;
let dispatcher: WebhookDispatcher;
let app: ReturnType<typeof buildApp>;
let socket: TestSocket;
let key: string;
const [alice, bob] = [accounts[1]!, accounts[2]!];

const chain = () => devnet.deployments.chains[0]!;
const cosmic = () => devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chain().chainId)!;
const signer = (k: Hex) => createChainSigner({ chainId: chain().chainId, rpcUrl: chain().rpcUrl, privateKey: k, pollingInterval: 10 });
const mint = (to: Hex, serial: number) =>
  signer(deployer.privateKey).write({
    address: cosmic().address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [to, tokenIdInRange(chain().eid, serial)],
  });
const idOf = (serial: number) => String(tokenIdInRange(chain().eid, serial));
async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(chain().rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await res.json()) as { result: T }).result;
}
async function until<T>(what: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out; received ${JSON.stringify(received.map((r) => [r.path, r.body.type, r.body.id]))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const at = (path: string) => received.filter((r) => r.path === path);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      received.push({ path: req.url ?? "/", headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  port = (receiver.address() as AddressInfo).port;
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
  await waitForHead(ponder, devnet.deployments);
  base = await createTestApp({ kv: "redis", env: { WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`, WEBHOOK_SWEEP_MS: "50", WEBHOOK_BACKOFF_MS: "50" } });
  cluster = await startCluster({ count: 1, base, indexed: () => connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 2 }) });
  const config = { ...base.deps.config, redisUrl: REDIS_URL, redisPrefix: (base.deps.kv as { prefix?: string }).prefix ?? "test:" };
  queue = createWebhookQueue({ ...base.deps, config });
  await queue.start();
  dispatcher = startWebhookDispatcher({ store: base.deps.store, queue, config, logger: base.deps.logger });
  app = buildApp({ ...base.deps, config, jobs: queue });
  key = (await new AuthService(base.deps).createApiKey("test", "integrator", ["webhooks"])).key;
  socket = await connect(cluster.replicas[0]!.realtime.server.url);
  socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
  await socket.next((m) => m.type === "subscribed");
}, 180_000);

afterAll(async () => {
  socket?.close();
  await dispatcher?.stop();
  await queue?.close();
  await cluster?.close();
  // The test app's own database and Redis keys (it leaked one database per run before).
  await base?.close();
  if (ponder) await cleanupPonder(ponder);
  await devnet?.stop();
  await new Promise((r) => receiver?.close(r));
});

const subscribe = async (body: Record<string, unknown>) => {
  const res = await app.request("/webhooks", { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; secret: string };
};
const verify = (secret: string, r: Received) =>
  String(r.headers["webhook-signature"])
    .split(",")
    .includes(`v1=${createHmac("sha256", secret).update(`${r.headers["webhook-timestamp"]}.${r.raw}`).digest("hex")}`);

describe("webhooks from the chain", () => {
  it("a mint is delivered with its push id; 3 confirmations wait for 3 more indexed blocks; a reorg retracts a delivered transfer", async () => {
    const now = await subscribe({
      url: `http://127.0.0.1:${port}/now`,
      eventTypes: ["nft:minted", "nft:transferred", "reorg"],
      filters: { collections: ["cosmic"] },
    });
    const confirmed = await subscribe({ url: `http://127.0.0.1:${port}/confirmed`, eventTypes: ["nft:minted"], minConfirmations: 3 });
    const started = Date.now();
    await mint(alice.address, 1);
    const push = await socket.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(1), 20_000);
    const hook = await until(() => at("/now").find((r) => r.body.data.tokenId === idOf(1)));
    const latency = Date.now() - started;
    expect(hook.headers["webhook-id"]).toBe(push.id);
    expect(hook.body).toMatchObject({ id: push.id, type: "nft:minted", data: push.data });
    expect(verify(now.secret, hook)).toBe(true);
    // Not yet confirmed: nothing for the other subscription.
    await new Promise((r) => setTimeout(r, 500));
    expect(at("/confirmed")).toHaveLength(0);
    for (let i = 0; i < 3; i++) await rpc("evm_mine");
    await waitForHead(ponder, devnet.deployments);
    const late = await until(() => at("/confirmed")[0]);
    expect(late.headers["webhook-id"]).toBe(push.id);
    expect(verify(confirmed.secret, late)).toBe(true);
    console.log(`webhook: block mined → delivered ${latency} ms (with the WebSocket push as witness)`);

    // A transfer, delivered, then removed by a reorg.
    const snapshot = await rpc<string>("evm_snapshot");
    await signer(alice.privateKey).write({
      address: cosmic().address,
      abi: CosmicONFT721Abi,
      functionName: "transferFrom",
      args: [alice.address, bob.address, BigInt(idOf(1))],
    });
    const transfer = await until(() => at("/now").find((r) => r.body.type === "nft:transferred"));
    expect(await rpc<boolean>("evm_revert", [snapshot])).toBe(true);
    await mint(bob.address, 2);
    await mint(bob.address, 3);
    const retraction = await until(() => at("/now").find((r) => r.body.type === "reorg"), 30_000);
    expect(retraction.body.data).toMatchObject({ retracts: transfer.body.id, retractedType: "nft:transferred", tokenId: idOf(1) });
    expect(retraction.headers["webhook-id"]).toBe(`reorg:${transfer.body.id}`);
    // Every delivery once per subscription and id.
    const ids = at("/now").map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);
});
