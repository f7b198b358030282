/**
 * Child process of bench/ws-scale.ts: one realtime WebSocket server (realtime/server.ts, anonymous
 * sockets allowed, no handshake rate limit) fanning out the Redis `realtime` channel under
 * WS_BENCH_PREFIX. Reports its port, then answers memory requests over IPC (after a full GC).
 */
import { createLogger } from "../../infra/logger.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { startRealtimeServer } from "../../realtime/server.js";

const kv = new RedisKeyValueStore(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", process.env.WS_BENCH_PREFIX ?? "wsbench:");
const server = await startRealtimeServer({
  kv,
  auth: { authenticateBearer: async () => Promise.reject(Object.assign(new Error("anonymous only"), { status: 401 })) },
  logger: createLogger({ level: "silent" }),
  port: 0,
  host: "127.0.0.1",
  allowAnonymous: true,
  heartbeatMs: 60_000,
});
const gc = (globalThis as { gc?: () => void }).gc;
process.send!({ type: "ready", port: server.port });
process.on("message", (m: { type: string }) => {
  if (m.type === "mem") {
    gc?.();
    const mu = process.memoryUsage();
    process.send!({ type: "mem", rss: mu.rss, heapUsed: mu.heapUsed, external: mu.external + mu.arrayBuffers, clients: server.clientCount() });
  } else if (m.type === "cpu") {
    const u = process.cpuUsage();
    process.send!({ type: "cpu", seconds: (u.user + u.system) / 1e6, system: u.system / 1e6 });
  } else if (m.type === "stop") {
    void server.close().finally(() => kv.close().finally(() => process.exit(0)));
  }
});
