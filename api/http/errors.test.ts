import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../infra/logger.js";
import { createErrorHandler, dependencyDown, notFound } from "./errors.js";

/** A logger that keeps what it was given, to see what reaches the log and what the client sees. */
function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { warn: at("warn"), error: at("error"), info: at("info") } as unknown as Logger };
}

function appThrowing(error: unknown) {
  const { lines, logger } = recordingLogger();
  const app = new Hono().get("/", () => {
    throw error;
  });
  app.onError(createErrorHandler(() => logger));
  return { app, lines };
}

describe("error responses", () => {
  it("a dependency error answers its code with 503 and logs its cause, which the client never sees", async () => {
    const cause = new Error("connect ECONNREFUSED 10.0.0.7:8545 (token=secret-rpc-key)");
    const { app, lines } = appThrowing(dependencyDown("CHAIN_UNAVAILABLE", "chain 1 RPC did not answer", cause));
    const res = await app.request("/");
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ error: { code: "CHAIN_UNAVAILABLE", message: "chain 1 RPC did not answer" } });
    expect(body).not.toContain("secret-rpc-key");
    expect(lines).toEqual([{ level: "warn", obj: { err: cause, code: "CHAIN_UNAVAILABLE" }, msg: "dependency unavailable" }]);
  });

  it("a client error is answered without logging", async () => {
    const { app, lines } = appThrowing(notFound("NFT_NOT_FOUND", "no such token"));
    const res = await app.request("/");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "NFT_NOT_FOUND", message: "no such token" } });
    expect(lines).toEqual([]);
  });

  it("an unexpected error is a 500 without its message, logged as an error", async () => {
    const { app, lines } = appThrowing(new Error("password=hunter2 in a stack"));
    const res = await app.request("/");
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
    expect(lines.map((l) => l.level)).toEqual(["error"]);
  });

  it("keeps the cause on the error for callers outside HTTP (jobs, realtime)", () => {
    const cause = new Error("socket hang up");
    expect(dependencyDown("X", "y", cause).cause).toBe(cause);
  });
});
