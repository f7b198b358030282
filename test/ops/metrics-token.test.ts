/** /api/metrics compares METRICS_TOKEN in constant time (node:crypto timingSafeEqual over equal-length digests). */
import * as crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../api/app.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { createTestApp, type TestApp } from "../api/helpers.js";

// The real function, observed: the assertion is that the token check goes through it.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ kv: "memory" });
});
afterAll(async () => {
  await t?.close();
});

describe("metrics token", () => {
  it("is compared with timingSafeEqual on equal-length digests; wrong, truncated, longer and missing tokens are refused", async () => {
    const token = "metrics-token-0123456789abcdef";
    const app = buildApp({ ...t.deps, ops: { ...loadOpsConfig({}), metricsToken: token } });
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    const status = async (authorization?: string) => (await app.request("/api/metrics", authorization ? { headers: { authorization } } : {})).status;
    expect(await status(`Bearer ${token}`)).toBe(200);
    expect(await status(`bearer ${token}`)).toBe(200);
    for (const wrong of [`Bearer ${token.slice(0, -1)}x`, `Bearer ${token.slice(0, 5)}`, `Bearer ${token}0`, "Bearer", `Basic ${token}`])
      expect(await status(wrong), wrong).toBe(401);
    expect(await status()).toBe(401);
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(7);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });
});
