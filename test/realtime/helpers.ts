/** Realtime test helpers: API replicas on one Postgres database and one Redis prefix, WebSocket clients. */
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import { type AppDependencies, buildApp } from "../../api/app.js";
import { AuthService } from "../../domain/auth/service.js";
import type { IndexedDb } from "../../read/db.js";
import { createLogger } from "../../infra/logger.js";
import { loadOpsConfig, type OpsConfig } from "../../infra/config/ops.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createOffchainStore } from "../../offchain/store.js";
import { startRealtime, type RealtimeService } from "../../realtime/service.js";
import { createTestApp, REDIS_URL, type TestApp } from "../api/helpers.js";

export type Replica = { name: string; deps: AppDependencies; app: ReturnType<typeof buildApp>; realtime: RealtimeService; close(): Promise<void> };

export type Cluster = { base: TestApp; replicas: Replica[]; token(address: `0x${string}`): Promise<string>; close(): Promise<void> };

/**
 * `count` replicas: each with its own Postgres pool, Redis connections, REST app and WebSocket server
 * (the notifier runs in every replica when `indexed` is given: the lock lets one tick at a time).
 */
export async function startCluster(
  options: { count?: number; indexed?: () => IndexedDb; ops?: Record<string, string>; base?: TestApp } = {},
): Promise<Cluster> {
  const base = options.base ?? (await createTestApp({ kv: "redis" }));
  const prefix = (base.deps.kv as RedisKeyValueStore).prefix;
  const databaseUrl = (base.deps.store as unknown as { kind: string }).kind === "postgres" ? databaseUrlOf(base) : undefined;
  const replicas: Replica[] = [];
  const ops: OpsConfig = loadOpsConfig({ REALTIME_PORT: "0", REALTIME_HEARTBEAT_MS: "60000", REALTIME_POLL_MS: "50", ...options.ops });
  for (let i = 0; i < (options.count ?? 2); i++) {
    const store = createOffchainStore({ databaseUrl: databaseUrl!, poolSize: 4 });
    const kv = new RedisKeyValueStore(REDIS_URL, prefix);
    const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
    const indexed = options.indexed?.();
    const deps: AppDependencies = { ...base.deps, store, kv, logger, ...(indexed ? { indexed } : {}) };
    const realtime = await startRealtime({ kv, store, logger, auth: new AuthService(deps), indexed, ops });
    replicas.push({
      name: String.fromCharCode(65 + i),
      deps,
      app: buildApp(deps),
      realtime,
      async close() {
        await realtime.close();
        await Promise.allSettled([store.close(), kv.close(), indexed?.close()]);
      },
    });
  }
  return {
    base,
    replicas,
    token: (address) => base.deps.keys.sign({ sub: address, sid: randomUUID(), roles: ["user"] }),
    async close() {
      for (const r of replicas) await r.close();
      if (!options.base) await base.close();
    },
  };
}

function databaseUrlOf(t: TestApp): string {
  // createTestApp keeps the URL private; the pool knows it.
  const pool = (t.deps.store.db as unknown as { $client: { options: { connectionString: string } } }).$client;
  return pool.options.connectionString;
}

export type TestSocket = {
  ws: WebSocket;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
  send(body: unknown): void;
  next(predicate: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
};

export async function connect(url: string, token?: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestSocket> {
  const ws = new WebSocket(token ? `${url}?access_token=${token}` : url, options);
  const messages: any[] = [];
  const waiters: { predicate: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of [...waiters])
      if (w.predicate(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake ${res.statusCode}`)));
  });
  const socket: TestSocket = {
    ws,
    messages,
    closed,
    send: (body) => ws.send(JSON.stringify(body)),
    next(predicate, timeoutMs = 15_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`)), timeoutMs);
        waiters.push({ predicate, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    close: () => ws.terminate(),
  };
  await socket.next((m) => m.type === "welcome");
  return socket;
}

export async function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return await new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve(101);
      ws.terminate();
    });
    ws.once("error", () => {});
  });
}
