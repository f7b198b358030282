import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../infra/logger.js";
import { ConfigError } from "../../infra/config/parse.js";
import { CosmicError, type ErrorKind } from "../../infra/errors.js";
import { TransactionStuckError } from "../../chain/signer.js";
import { HTTP_STATUS_OF_KIND, ServiceError, createErrorHandler, dependencyDown, notFound, tooManyRequests } from "./errors.js";

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

  it("answers each kind of service error with its status, code and message (the one kind → status map)", async () => {
    const kinds = Object.keys(HTTP_STATUS_OF_KIND) as ErrorKind[];
    expect(kinds).toHaveLength(10);
    for (const kind of kinds.filter((k) => k !== "config" && k !== "internal")) {
      const { app } = appThrowing(new ServiceError(kind, `CODE_${kind.toUpperCase()}`, `a ${kind} error`));
      const res = await app.request("/");
      expect([kind, res.status]).toEqual([kind, HTTP_STATUS_OF_KIND[kind]]);
      expect(await res.json()).toEqual({ error: { code: `CODE_${kind.toUpperCase()}`, message: `a ${kind} error` } });
    }
  });

  it("a cooldown's Retry-After comes from the error, not from the route", async () => {
    const res = await appThrowing(tooManyRequests(41.2, "refreshed recently")).app.request("/");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("42");
  });

  it("an untranslated error from a layer below: unavailable is a generic 503, a configuration error a 500 without its message", async () => {
    const stuck = new TransactionStuckError({ label: "mint", chainId: 1, hash: "0xabc" } as never, "underpriced");
    expect(stuck).toBeInstanceOf(CosmicError);
    const down = await appThrowing(stuck).app.request("/");
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: { code: "DEPENDENCY_UNAVAILABLE", message: "a backing service is unavailable, retry later" } });

    const { app, lines } = appThrowing(new ConfigError("AUTH_JWT_KEYS: not JSON (secret-ish detail)"));
    const res = await app.request("/");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("secret-ish");
    expect(lines.map((l) => l.level)).toEqual(["error"]);
  });
});
