/** The key-value adapter behaves the same on the real Redis server and in-process. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyValueStore } from "../../infra/redis.js";
import { createTestKv, type KvMode } from "../api/helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each<KvMode>(["redis", "memory"])("key-value adapter (%s)", (mode) => {
  let kv: KeyValueStore;
  let cleanup: () => Promise<void>;
  beforeAll(() => {
    ({ kv, cleanup } = createTestKv(mode));
  });
  afterAll(async () => {
    await cleanup();
  });

  it("get/set with TTL, setIfAbsent, del", async () => {
    await kv.set("a", "1", 80);
    expect(await kv.get("a")).toBe("1");
    expect(await kv.setIfAbsent("a", "2", 1000)).toBe(false);
    await sleep(120);
    expect(await kv.get("a")).toBeNull();
    expect(await kv.setIfAbsent("a", "3", 1000)).toBe(true);
    expect(await kv.get("a")).toBe("3");
    await kv.del("a");
    expect(await kv.get("a")).toBeNull();
  });

  it("getDel is atomic: one winner among concurrent callers", async () => {
    await kv.set("nonce", "x", 10_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => kv.getDel("nonce")));
    expect(results.filter((r) => r === "x")).toHaveLength(1);
    expect(await kv.get("nonce")).toBeNull();
  });

  it("incr creates with TTL, counts, and resets after expiry", async () => {
    const first = await kv.incr("counter", 150);
    expect(first.value).toBe(1);
    expect(first.ttlMs).toBeGreaterThan(0);
    const results = await Promise.all(Array.from({ length: 9 }, () => kv.incr("counter", 150)));
    expect(Math.max(...results.map((r) => r.value))).toBe(10);
    expect(results.every((r) => r.ttlMs <= 150)).toBe(true);
    await sleep(200);
    expect((await kv.incr("counter", 150)).value).toBe(1);
  });

  it("publish/subscribe, unsubscribe", async () => {
    const received: string[] = [];
    const unsubscribe = await kv.subscribe("events", (m) => received.push(m));
    await kv.publish("events", "one");
    await kv.publish("events", "two");
    for (let i = 0; i < 50 && received.length < 2; i++) await sleep(10);
    expect(received).toEqual(["one", "two"]);
    await unsubscribe();
    await kv.publish("events", "three");
    await sleep(50);
    expect(received).toEqual(["one", "two"]);
  });

  it("keys are isolated by prefix", async () => {
    const other = createTestKv(mode);
    try {
      await kv.set("shared", "mine", 10_000);
      if (mode === "redis") expect(await other.kv.get("shared")).toBeNull();
      expect(await kv.ping()).toBe(true);
    } finally {
      await other.cleanup();
    }
  });
});
