/**
 * infra/tickLoop.ts: one tick at a time, woken early, wakes during a tick coalesce into one more tick,
 * deferred wakes coalesce into one tick after their delay (or into a tick that starts before it).
 */
import { describe, expect, it } from "vitest";
import { startTickLoop } from "../../infra/tickLoop.js";
import { waitFor } from "../helpers/devnet.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("tick loop", () => {
  it("sleeps its interval, runs at once when woken, never two ticks at a time", async () => {
    let ticks = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    let release: (() => void) | undefined;
    const loop = startTickLoop({
      tick: async () => {
        ticks++;
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        if (ticks === 2) await new Promise<void>((r) => (release = r));
        concurrent--;
      },
      intervalMs: () => 60_000,
      onError: () => {},
    });
    await sleep(20);
    expect(ticks).toBe(1); // the first tick, then asleep for a minute
    loop.wake();
    await sleep(20);
    expect(ticks).toBe(2); // woken; tick 2 is blocked
    loop.wake();
    loop.wake();
    loop.wake();
    await sleep(20);
    expect(ticks).toBe(2);
    release!();
    await sleep(20);
    expect(ticks).toBe(3); // the three wakes during tick 2: one more tick
    await sleep(50);
    expect(ticks).toBe(3);
    expect(maxConcurrent).toBe(1);
    await loop.stop();
  });

  it("falls back to its interval, reads it after every tick, survives a failing tick", async () => {
    let ticks = 0;
    const errors: unknown[] = [];
    let interval = 10;
    const loop = startTickLoop({
      tick: async () => {
        ticks++;
        if (ticks === 2) throw new Error("boom");
      },
      intervalMs: () => interval,
      onError: (e) => errors.push(e),
    });
    await sleep(100);
    expect(ticks).toBeGreaterThan(3);
    expect(errors).toHaveLength(1);
    interval = 60_000;
    await sleep(30);
    const settled = ticks;
    await sleep(100);
    expect(ticks).toBe(settled);
    const stopped = loop.stop();
    await stopped;
    loop.wake();
    await sleep(20);
    expect(ticks).toBe(settled);
  });

  it("wakeIn: requests within the delay make one tick after it; a tick starting first serves them", async () => {
    // Asserted on recorded tick times and counts after generous waits: a loaded CI machine fires timers late.
    const at: number[] = [];
    const started = performance.now();
    let release: (() => void) | undefined;
    const loop = startTickLoop({
      tick: async () => {
        at.push(performance.now() - started);
        if (at.length === 4) await new Promise<void>((r) => (release = r));
      },
      intervalMs: () => 60_000,
      onError: () => {},
    });
    await waitFor(async () => at.length === 1, 5_000, "the first tick");
    const asked = performance.now() - started;
    loop.wakeIn(80);
    await sleep(30);
    loop.wakeIn(80); // within the first delay: no second timer, not moved
    await waitFor(async () => at.length === 2, 5_000, "the deferred tick");
    expect(at[1]!).toBeGreaterThanOrEqual(asked + 75);
    await sleep(250);
    expect(at).toHaveLength(2); // the second request was served by the same tick

    // A wake before the delay ends: that tick serves the deferred request, no tick after the delay.
    loop.wakeIn(100);
    loop.wake();
    await waitFor(async () => at.length === 3, 5_000, "the woken tick");
    await sleep(250);
    expect(at).toHaveLength(3);

    // Asked during a tick: one more tick after the delay, after the running one.
    loop.wake();
    await waitFor(async () => at.length === 4, 5_000, "the blocked tick");
    const askedDuring = performance.now() - started;
    loop.wakeIn(100);
    release!();
    await waitFor(async () => at.length === 5, 5_000, "the tick after the running one");
    expect(at[4]!).toBeGreaterThanOrEqual(askedDuring + 95);

    // Stopped: a pending deferred wake does not tick.
    loop.wakeIn(20);
    await loop.stop();
    await sleep(100);
    expect(at).toHaveLength(5);
  });
});
