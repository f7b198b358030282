/**
 * A JSON-RPC HTTP proxy in front of a local chain, for tests and benchmarks. It forwards every
 * request unchanged and can:
 *   - delay each request (`delayMs`: slows a backfill enough to interrupt it), or hold some until a test lets them go (`hold`);
 *   - lose a request before the node sees it, or lose the node's answer after it acted on it
 *     (`beforeForward` / `afterForward` return "drop": the caller's socket is destroyed);
 *   - observe the answers (`afterForward` gets them with the instant they arrived);
 *   - answer a single request itself (`respond`: e.g. make the node look like another one);
 *   - die and come back like an RPC node (`kill()` drops open connections and stops listening;
 *     `restart()` listens again on the same port) while the chain keeps its state;
 *   - proxy WebSockets (`wsUrl`, same port: new-head subscriptions) and cut them mid-stream
 *     (`dropSockets()`), refuse or hold new ones for a while (`sockets("refuse" | "hold")`), HTTP staying up.
 * Hand-written: no maintained library injects faults into JSON-RPC over HTTP on loopback.
 */
import http from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { freePort } from "./anvil.js";

export type RpcProxyOptions = {
  delayMs?: number;
  /** Called with the request's methods; a promise returned holds the request until it settles. */
  hold?(methods: string[]): Promise<unknown> | undefined;
  /** Called with the request's JSON-RPC methods (several for a batch); "drop" = never forwarded. */
  beforeForward?(methods: string[]): "forward" | "drop";
  /** Called with the node's answer and `performance.now()` of its arrival; "drop" = the caller never hears it. */
  afterForward?(methods: string[], answer: Buffer, at: number): "answer" | "drop" | void;
  /** A JSON-RPC `result` to answer a single (non-batch) request with, instead of forwarding it; undefined = forward. */
  respond?(method: string): unknown;
  /** Where WebSockets go (default: the target's URL as ws://, anvil's own). */
  wsTarget?: string;
};

export type RpcProxy = {
  url: string;
  /** The WebSocket side (same port), forwarded to `wsTarget`. */
  wsUrl: string;
  port: number;
  /** Terminates every proxied WebSocket (both sides), as a dropped connection would. */
  dropSockets(): void;
  /**
   * What happens to new WebSocket upgrades: `accept` (default), `refuse` (HTTP 503: reconnects fail),
   * `hold` (left unanswered until the mode changes: reconnects wait, then proceed or fail with it).
   */
  sockets(mode: "accept" | "refuse" | "hold"): void;
  /** Proxied WebSockets open now. */
  openSockets(): number;
  up(): boolean;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
};

function methodsOf(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString()) as { method?: string } | { method?: string }[];
    return (Array.isArray(parsed) ? parsed : [parsed]).flatMap((m) => (typeof m?.method === "string" ? [m.method] : []));
  } catch {
    return [];
  }
}

export async function startRpcProxy(target: string, options: RpcProxyOptions = {}): Promise<RpcProxy> {
  const port = await freePort();
  let server: http.Server | undefined;
  const wss = new WebSocketServer({ noServer: true });
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  let mode: "accept" | "refuse" | "hold" = "accept";
  const held: (() => void)[] = [];
  const targetWs = options.wsTarget ?? target.replace(/^http/, "ws");
  const dropSockets = () => {
    for (const pair of pairs) {
      pair.client.terminate();
      pair.upstream.terminate();
    }
    pairs.clear();
  };

  const listen = async () => {
    const s = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        const methods = methodsOf(body);
        if (options.beforeForward?.(methods) === "drop") return void res.destroy();
        const own = methods.length === 1 && !body.toString().trimStart().startsWith("[") ? options.respond?.(methods[0]!) : undefined;
        if (own !== undefined) {
          const id = (JSON.parse(body.toString()) as { id?: unknown }).id ?? null;
          res.writeHead(200, { "content-type": "application/json" });
          return void res.end(JSON.stringify({ jsonrpc: "2.0", id, result: own }));
        }
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        await options.hold?.(methods);
        const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(30_000) });
        const answer = Buffer.from(await upstream.arrayBuffer());
        if (options.afterForward?.(methods, answer, performance.now()) === "drop") return void res.destroy();
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(answer);
      } catch {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502);
          res.end();
        }
      }
    });
    s.on("upgrade", function upgrade(req, socket, head) {
      if (mode === "hold") return void held.push(() => upgrade(req, socket, head));
      if (mode === "refuse") {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        return;
      }
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (client) => {
        const upstream = new WebSocket(targetWs);
        const pair = { client, upstream };
        pairs.add(pair);
        const early: Buffer[] = [];
        const close = () => {
          pairs.delete(pair);
          client.terminate();
          upstream.terminate();
        };
        upstream.on("open", () => {
          for (const message of early.splice(0)) upstream.send(message);
        });
        upstream.on("message", (data) => client.readyState === WebSocket.OPEN && client.send(data as Buffer));
        client.on("message", (data) => (upstream.readyState === WebSocket.OPEN ? upstream.send(data as Buffer) : early.push(data as Buffer)));
        for (const ws of [client, upstream]) {
          ws.on("close", close);
          ws.on("error", close);
        }
      });
    });
    s.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    server = s;
  };

  const kill = async () => {
    const s = server;
    if (!s) return;
    server = undefined;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    dropSockets();
    await closed;
  };

  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    dropSockets,
    sockets(next) {
      mode = next;
      if (next !== "hold") for (const resume of held.splice(0)) resume();
    },
    openSockets: () => pairs.size,
    up: () => server !== undefined,
    kill,
    async restart() {
      if (server) return;
      // The port was just released: a few retries cover a slow teardown.
      for (let attempt = 0; ; attempt++) {
        try {
          await listen();
          return;
        } catch (error) {
          if (attempt > 50) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    close: kill,
  };
}
