/**
 * A JSON-RPC HTTP proxy in front of one anvil, on a fixed port, that can be "killed" and
 * "restarted" like an RPC node: `kill()` drops every open connection (in-flight requests get a
 * reset socket) and stops listening (new connections are refused); `restart()` listens again on
 * the same port. Everyone pointed at `url` (Ponder, the API's clients, signers) sees the node die
 * and come back, while the chain itself (anvil) keeps its state.
 */
import http from "node:http";
import { freePort } from "../../../devnet/anvil.js";

export type RpcProxy = { url: string; port: number; up(): boolean; kill(): Promise<void>; restart(): Promise<void>; close(): Promise<void> };

export async function startRestartableRpcProxy(target: string): Promise<RpcProxy> {
  const port = await freePort();
  let server: http.Server | undefined;

  const listen = async () => {
    const s = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks), signal: AbortSignal.timeout(30_000) });
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(body);
      } catch {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502);
          res.end();
        }
      }
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
    await closed;
  };

  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    up: () => server !== undefined,
    kill,
    async restart() {
      if (server) return;
      // The port was just released: a few retries cover a slow TIME_WAIT/teardown.
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
