/**
 * Over the body limit the client gets its 413 and its keep-alive connection stays usable (the excess
 * is drained); beyond the drain bound the 413 says `Connection: close` and the next request opens a
 * new connection. Through a real Node server (@hono/node-server), as in production.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers.js";

let t: TestApp;
let server: http.Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  t = await createTestApp({ kv: "memory" });
  server = await new Promise<http.Server>((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as http.Server)) as http.Server;
  });
  server.on("connection", () => connections++);
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** One request on `agent`; `body` is written in 64 KiB chunks (chunked when `length` is absent). */
function request(agent: http.Agent, method: string, path: string, body?: Buffer, length?: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (length !== undefined) headers["content-length"] = length;
    const req = http.request({ host: "127.0.0.1", port, method, path, agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    if (body) for (let i = 0; i < body.length; i += 65_536) req.write(body.subarray(i, i + 65_536));
    req.end();
  });
}

/** Runs `fn` with a keep-alive agent of one socket; returns how many connections the server accepted meanwhile. */
async function onOneSocket(fn: (agent: http.Agent) => Promise<void>): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const before = connections;
  try {
    await fn(agent);
    return connections - before;
  } finally {
    agent.destroy();
  }
}

describe("413 on a kept-alive connection", () => {
  it("a declared oversized body: 413 JSON, then the next request on the same connection succeeds", async () => {
    const used = await onOneSocket(async (agent) => {
      const big = Buffer.alloc(300 * 1024, "x");
      const answer = await request(agent, "POST", "/auth/login", big, big.length);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
      expect(answer.headers.connection).not.toBe("close");
      for (let i = 0; i < 3; i++) expect((await request(agent, "GET", "/.well-known/jwks.json")).status).toBe(200);
    });
    expect(used).toBe(1);
  });

  it("a streamed (chunked) oversized body: 413, connection reused; a streamed body within the limit still reaches the route", async () => {
    const used = await onOneSocket(async (agent) => {
      const answer = await request(agent, "POST", "/auth/login", Buffer.alloc(600 * 1024, "y"));
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
      const small = await request(agent, "POST", "/auth/login", Buffer.from("{not json"));
      expect([small.status, JSON.parse(small.body).error.code]).toEqual([400, "MALFORMED_JSON"]);
      const valid = await request(agent, "POST", "/auth/login", Buffer.from(JSON.stringify({ message: "m", signature: "0x00" })));
      expect(valid.status).toBe(400);
      expect(JSON.parse(valid.body).error.code).toMatch(/^SIWE_/);
    });
    expect(used).toBe(1);
  });

  it("beyond the drain bound (16 MiB): 413 with Connection: close; the next request opens a new connection and succeeds", async () => {
    const used = await onOneSocket(async (agent) => {
      // Declares 20 MiB, sends the first 64 KiB: the answer comes without waiting for the rest.
      const answer = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/auth/login",
            agent,
            headers: { "content-type": "application/json", "content-length": 20 * 1024 * 1024 },
          },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
          },
        );
        req.on("error", reject);
        req.write(Buffer.alloc(65_536, "z"));
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe("close");
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
      expect((await request(agent, "GET", "/.well-known/jwks.json")).status).toBe(200);
    });
    expect(used).toBe(2);
  });
});
