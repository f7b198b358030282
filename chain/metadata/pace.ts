/**
 * Pacing of outbound metadata requests per host, shared by every process on the same key-value
 * store (Redis): each request claims one slot `metadata:pace:<host>:<n>` of 1/rate seconds with
 * SET NX and waits for the slot's start, so a host never sees more than `ratePerSecond` requests per
 * second from re-resolutions however many workers run them. Used by jobs (collection refresh,
 * ERC-4906 follow-ups), where thousands of tokens may point at one host.
 */
import type { KeyValueStore } from "../../infra/redis.js";

/** Waits for the request's slot; resolves with the slot's start (epoch ms), undefined when not paced. */
export type Pacer = (url: string) => Promise<number | undefined>;

/** Slots looked at before giving up on pacing one request (a queue this deep means minutes of wait). */
const MAX_PROBES = 5_000;

export function hostPacer(kv: KeyValueStore, ratePerSecond: number): Pacer {
  const intervalMs = 1000 / ratePerSecond;
  // Per host, the slot after the last one this process claimed: probes start there, not at "now".
  const hint = new Map<string, number>();
  return async (url) => {
    let host: string;
    try {
      host = new URL(url).host.toLowerCase();
    } catch {
      return undefined;
    }
    let slot = Math.max(Math.ceil(Date.now() / intervalMs), hint.get(host) ?? 0);
    for (let probes = 0; probes < MAX_PROBES; probes++, slot++) {
      const ttlMs = Math.max(1_000, slot * intervalMs - Date.now() + 10_000);
      if (await kv.setIfAbsent(`metadata:pace:${host}:${slot}`, "1", ttlMs)) break;
    }
    hint.set(host, slot + 1);
    if (hint.size > 10_000) hint.clear();
    const startsAt = slot * intervalMs;
    const wait = startsAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return startsAt;
  };
}

const pacers = new WeakMap<KeyValueStore, Map<number, Pacer>>();

/** One pacer per store and rate in this process (its hints are shared by every job of the process). */
export function pacerFor(kv: KeyValueStore, ratePerSecond: number): Pacer {
  let byRate = pacers.get(kv);
  if (!byRate) pacers.set(kv, (byRate = new Map()));
  let pacer = byRate.get(ratePerSecond);
  if (!pacer) byRate.set(ratePerSecond, (pacer = hostPacer(kv, ratePerSecond)));
  return pacer;
}
