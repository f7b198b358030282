/**
 * The devnet chains' WebSocket endpoint: anvil's own `newHeads`, plus the current head sent right
 * after every `eth_subscribe("newHeads")`. anvil mines only when a transaction comes, and a head
 * subscriber (Ponder 0.16 with `ws`) learns of blocks only from new heads: blocks mined between its
 * backfill and its subscription, or while its socket was reconnecting, would otherwise wait for the
 * next transaction. On a live network the next block closes that gap within one block time.
 * Every other JSON-RPC request on the socket is answered over HTTP by the node.
 *
 * Hand-written over `ws`: a few lines of JSON-RPC plumbing no library offers for this case.
 */
import { randomBytes } from "node:crypto";
import { WebSocket, WebSocketServer } from "ws";
import { freePort } from "./anvil.js";

export type HeadRelay = { url: string; close(): Promise<void> };

type Request = { jsonrpc?: string; id?: unknown; method?: string; params?: unknown[] };

export async function startHeadRelay(options: { rpcUrl: string; nodeWsUrl: string }): Promise<HeadRelay> {
  const port = await freePort();
  const server = new WebSocketServer({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  /**
   * subscription id → its socket, and the head it was given on subscribe: the node's notifications
   * of older blocks still on their way are not forwarded after it (the first newer one ends that).
   */
  const subscriptions = new Map<string, { ws: WebSocket; snapshot?: bigint }>();
  let closed = false;

  const rpc = async (body: Request) => {
    const res = await fetch(options.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: body.id ?? 1, method: body.method, params: body.params ?? [] }),
    });
    return (await res.json()) as { result?: unknown; error?: unknown };
  };
  const send = (ws: WebSocket, message: unknown) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(message));
  const notify = (id: string, head: { number?: string }, snapshot = false) => {
    const sub = subscriptions.get(id);
    if (!sub || !head.number) return;
    const number = BigInt(head.number);
    if (snapshot) sub.snapshot = number;
    else if (sub.snapshot !== undefined) {
      if (number <= sub.snapshot) return;
      sub.snapshot = undefined;
    }
    send(sub.ws, { jsonrpc: "2.0", method: "eth_subscription", params: { subscription: id, result: head } });
  };
  const sendCurrentHead = async (ids: string[]) => {
    try {
      const { result } = await rpc({ method: "eth_getBlockByNumber", params: ["latest", false] });
      if (result) for (const id of ids) notify(id, result as { number?: string }, true);
    } catch {}
  };

  server.on("connection", (ws) => {
    ws.on("message", async (data) => {
      let request: Request;
      try {
        request = JSON.parse(String(data));
      } catch {
        return send(ws, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
      }
      if (request.method === "eth_subscribe" && request.params?.[0] === "newHeads") {
        const id = `0x${randomBytes(16).toString("hex")}`;
        subscriptions.set(id, { ws });
        send(ws, { jsonrpc: "2.0", id: request.id, result: id });
        return void sendCurrentHead([id]);
      }
      if (request.method === "eth_unsubscribe") {
        const id = String(request.params?.[0]);
        return send(ws, { jsonrpc: "2.0", id: request.id, result: subscriptions.get(id)?.ws === ws && subscriptions.delete(id) });
      }
      try {
        send(ws, { jsonrpc: "2.0", id: request.id, ...(await rpc(request)) });
      } catch (error) {
        send(ws, { jsonrpc: "2.0", id: request.id, error: { code: -32603, message: (error as Error).message } });
      }
    });
    ws.on("close", () => {
      for (const [id, sub] of subscriptions) if (sub.ws === ws) subscriptions.delete(id);
    });
    ws.on("error", () => ws.terminate());
  });

  // One subscription to the node; after a reconnect every subscriber gets the current head.
  let upstream: WebSocket | undefined;
  let retryMs = 100;
  const connectUpstream = () => {
    if (closed) return;
    const ws = new WebSocket(options.nodeWsUrl);
    upstream = ws;
    let subscription: string | undefined;
    ws.on("open", () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })));
    ws.on("message", (data) => {
      let message: { id?: number; result?: unknown; params?: { subscription?: string; result?: unknown } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (message.id === 1 && typeof message.result === "string") {
        subscription = message.result;
        retryMs = 100;
        void sendCurrentHead([...subscriptions.keys()]);
      } else if (message.params && message.params.subscription === subscription) {
        const head = message.params.result as { number?: string };
        for (const id of subscriptions.keys()) notify(id, head);
      }
    });
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      if (closed || upstream !== ws) return;
      setTimeout(connectUpstream, retryMs).unref();
      retryMs = Math.min(retryMs * 2, 5_000);
    });
  };
  connectUpstream();

  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      closed = true;
      upstream?.terminate();
      for (const ws of server.clients) ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
