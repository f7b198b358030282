/**
 * Pacing towards metadata hosts (chain/metadata/pace.ts) on the real Redis: two pacers (two worker
 * processes) sharing one store send at most the configured rate per host together, hosts are paced
 * independently; and the `Prefer: respond-async` parsing of POST /nfts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { prefersAsync } from "../../api/nfts/mintAsync.js";
import { hostPacer } from "../../chain/metadata/pace.js";
import { createTestKv } from "../api/helpers.js";

const { kv, cleanup } = createTestKv("redis");
afterAll(cleanup);

describe("host pacer", () => {
  it("two processes at 10/s on one host: 20 requests take ≥ 1.9 s, never two in one slot; another host is not slowed", async () => {
    const a = hostPacer(kv, 10);
    const b = hostPacer(kv, 10);
    const started = Date.now();
    const times: number[] = [];
    const run = (pace: typeof a, url: string) => pace(url).then(() => times.push(Date.now() - started));
    const other: number[] = [];
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => run(i % 2 ? a : b, `http://meta.example/${i}.json`)),
      ...Array.from({ length: 10 }, (_, i) => run(i % 2 ? b : a, `http://META.example/img/${i}.png`)),
      ...Array.from({ length: 3 }, () => b("https://gateway.example/ipfs/x").then(() => other.push(Date.now() - started))),
    ]);
    times.sort((x, y) => x - y);
    const span = times[times.length - 1]! - times[0]!;
    console.log(`pacer: 20 requests to one host from 2 pacers at 10/s over ${span} ms; another host's 3 done by ${Math.max(...other)} ms`);
    expect(span).toBeGreaterThanOrEqual(1_800);
    // Slots are 100 ms apart (one claim each): consecutive starts are apart by that, less timer jitter.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `gap ${i}`).toBeGreaterThanOrEqual(50);
    expect(Math.max(...other)).toBeLessThan(500);
  });

  it("URLs without a host are not paced", async () => {
    const pace = hostPacer(kv, 1);
    const started = Date.now();
    await Promise.all([pace("not a url"), pace("also not")]);
    expect(Date.now() - started).toBeLessThan(100);
  });
});

describe("Prefer: respond-async", () => {
  it("parses RFC 7240 preferences", () => {
    expect(prefersAsync("respond-async")).toBe(true);
    expect(prefersAsync("Respond-Async, wait=10")).toBe(true);
    expect(prefersAsync("return=minimal, respond-async; foo=bar")).toBe(true);
    expect(prefersAsync("wait=10")).toBe(false);
    expect(prefersAsync("respond-asyncx")).toBe(false);
    expect(prefersAsync("")).toBe(false);
    expect(prefersAsync(undefined)).toBe(false);
  });
});
