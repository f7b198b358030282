/**
 * Pacing towards metadata hosts (chain/metadata/pace.ts) on the real Redis: two pacers (two worker
 * processes) sharing one store send at most the configured rate per host together, hosts are paced
 * independently; and the `Prefer: respond-async` parsing of POST /nfts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { prefersAsync } from "../../jobs/mintAsync.js";
import { hostPacer } from "../../chain/metadata/pace.js";
import { createTestKv } from "../api/helpers.js";

const { kv, cleanup } = createTestKv("redis");
afterAll(cleanup);

describe("host pacer", () => {
  it("two processes at 10/s on one host: one request per 100 ms slot, none before its slot; another host is not slowed", async () => {
    const a = hostPacer(kv, 10);
    const b = hostPacer(kv, 10);
    const started = Date.now();
    const slots: number[] = [];
    const early: string[] = [];
    const run = (pace: typeof a, url: string, into: number[]) =>
      pace(url).then((slot) => {
        const now = Date.now();
        if (slot === undefined) throw new Error(`${url} was not paced`);
        // A timer may fire a millisecond before its due time; a request sent earlier breaks the rate.
        if (now < slot - 2) early.push(`${url}: ${slot - now} ms early`);
        into.push(slot);
      });
    const other: number[] = [];
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => run(i % 2 ? a : b, `http://meta.example/${i}.json`, slots)),
      ...Array.from({ length: 10 }, (_, i) => run(i % 2 ? b : a, `http://META.example/img/${i}.png`, slots)),
      ...Array.from({ length: 3 }, () => run(b, "https://gateway.example/ipfs/x", other)),
    ]);
    slots.sort((x, y) => x - y);
    console.log(
      `pacer: 20 requests to one host from 2 pacers at 10/s in slots over ${slots.at(-1)! - slots[0]!} ms; another host's 3 in slots within ${Math.max(...other) - started} ms`,
    );
    // The slots are claimed in Redis (SET NX): 20 distinct slots 100 ms apart, shared by both pacers.
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!, `slot gap ${i}`).toBeGreaterThanOrEqual(100);
    expect(early).toEqual([]);
    // The other host has its own slots: its 3 requests take the first free ones, not the queue of the first host.
    expect(Math.max(...other) - started).toBeLessThan(500);
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
