/** Which subscriptions an event goes to: its type, then the filters (collection, address, chain). */
import { getAddress, isAddress } from "viem";

export type Filters = { collections?: string[]; addresses?: string[]; chainIds?: number[] };
export type SubscriptionMatch = { eventTypes: string[]; filters: Filters };

/** The addresses an event concerns (sender, recipient), checksummed. */
function addressesOf(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of ["from", "to", "address"]) {
    const v = data[key];
    if (typeof v === "string" && isAddress(v, { strict: false })) out.push(getAddress(v));
  }
  return out;
}

/** The chains an event concerns: its own, and the other side of a bridge. */
function chainsOf(data: Record<string, unknown>): number[] {
  return ["chainId", "otherChainId", "srcChainId", "dstChainId"].map((k) => data[k]).filter((v): v is number => typeof v === "number");
}

/**
 * A retraction (`reorg`) matches by the type it retracts; filters apply to the retracted push's
 * data (the retraction carries it). An absent filter list matches everything.
 */
export function matches(sub: SubscriptionMatch, type: string, data: Record<string, unknown>): boolean {
  const effective = type === "reorg" && typeof data.retractedType === "string" ? data.retractedType : type;
  if (!sub.eventTypes.includes(effective) && !sub.eventTypes.includes(type)) return false;
  const f = sub.filters;
  if (f.collections?.length && !(typeof data.collection === "string" && f.collections.includes(data.collection))) return false;
  if (f.addresses?.length) {
    const mine = new Set<string>(f.addresses.map((a) => getAddress(a as `0x${string}`)));
    if (!addressesOf(data).some((a) => mine.has(a))) return false;
  }
  if (f.chainIds?.length && !chainsOf(data).some((c) => f.chainIds!.includes(c))) return false;
  return true;
}
