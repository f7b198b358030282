/**
 * Order of the chain pushes published by one notifier tick: the activity order key (block time,
 * chain, block, log), except that a bridge's destination half (`bridge:completed`, `bridge:failed`)
 * never precedes its `bridge:initiated` in the same batch — the two chains' clocks are not one clock,
 * so the order key alone can put a delivery before its send.
 */
export type OrderedPush = { orderKey: string; guid?: string | null; half: "source" | "destination" | "none" };

export function orderPushes<T extends OrderedPush>(pushes: readonly T[]): T[] {
  const sorted = [...pushes].sort((a, b) => (a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0));
  const sourceAt = new Map<string, number>();
  sorted.forEach((p, i) => {
    if (p.half === "source" && p.guid) sourceAt.set(p.guid, i);
  });
  const out: T[] = [];
  const waiting = new Map<string, T[]>();
  sorted.forEach((p, i) => {
    const source = p.half === "destination" && p.guid ? sourceAt.get(p.guid) : undefined;
    if (source !== undefined && source > i) {
      waiting.set(p.guid!, [...(waiting.get(p.guid!) ?? []), p]);
      return;
    }
    out.push(p);
    if (p.half === "source" && p.guid) out.push(...(waiting.get(p.guid) ?? []));
  });
  return out;
}

/**
 * Puts each bridge's `bridge:updated` pushes into the ordered batch: before its destination half
 * when that is in the batch, else right after its source half, else at the end (their send was
 * announced in an earlier tick).
 */
export function interleaveUpdates<T extends OrderedPush & { envelope: E }, E>(ordered: readonly T[], updates: ReadonlyMap<string, E[]>): E[] {
  const pending = new Map([...updates].map(([guid, list]) => [guid.toLowerCase(), list]));
  const out: E[] = [];
  for (const p of ordered) {
    const guid = p.guid?.toLowerCase();
    if (guid && p.half === "destination" && pending.has(guid)) {
      out.push(...pending.get(guid)!);
      pending.delete(guid);
    }
    out.push(p.envelope);
    if (guid && p.half === "source" && pending.has(guid)) {
      out.push(...pending.get(guid)!);
      pending.delete(guid);
    }
  }
  for (const list of pending.values()) out.push(...list);
  return out;
}
