/**
 * The webhook outbox, written inside the notifier's transaction (realtime/notifier.ts), so an event
 * and its deliveries exist exactly when the push's state committed — whether Redis is up or not:
 *   - each push with an id becomes a `webhook_events` row (once per push id: a repeat after a crash
 *     between publish and commit adds nothing) and one delivery per matching subscription:
 *     `pending`, or `waiting` for a subscription that asks for N confirmations (released by
 *     `releaseConfirmed` once its chain is indexed N blocks past the event's block);
 *   - a retraction (`reorg`) goes only to subscriptions that had a delivery of the retracted push;
 *     one still waiting for its confirmations (or not yet handed to the queue) is cancelled instead
 *     and the subscription hears of neither.
 */
import { randomUUID } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import type { Envelope } from "../realtime/protocol.js";
import { type Filters, matches } from "./match.js";

export type Executor = { execute(query: SQL): Promise<unknown> };
type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];

export type Subscription = { id: string; eventTypes: string[]; filters: Filters; minConfirmations: number };

const textArray = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.map(String)
    : String(value ?? "")
        .replace(/^\{|\}$/g, "")
        .split(",")
        .filter(Boolean)
        .map((s) => s.replace(/^"|"$/g, ""));

export async function loadSubscriptions(tx: Executor): Promise<Subscription[]> {
  return rowsOf(await tx.execute(sql`SELECT id, event_types, filters, min_confirmations FROM offchain.webhook_subscriptions`)).map((r) => ({
    id: String(r.id),
    eventTypes: textArray(r.event_types),
    filters: (typeof r.filters === "string" ? JSON.parse(r.filters) : r.filters) as Filters,
    minConfirmations: Number(r.min_confirmations),
  }));
}

/** The body sent for an event (the delivery's payload). */
export const eventPayload = (pushId: string, type: string, data: Record<string, unknown>, createdAt: Date) => ({
  id: pushId,
  type,
  createdAt: createdAt.toISOString(),
  data,
});

const numberOf = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);

/** Records the pushes of a notifier tick for webhooks; returns the deliveries created. */
export async function recordWebhookEvents(tx: Executor, envelopes: Envelope[], options: { maxAttempts: number }): Promise<number> {
  const withId = envelopes.filter((e): e is Envelope & { id: string } => typeof e.id === "string");
  if (!withId.length) return 0;
  const subscriptions = await loadSubscriptions(tx);
  let created = 0;
  for (const envelope of withId) {
    const chainId = numberOf(envelope.data.chainId);
    const block = numberOf(envelope.data.blockNumber);
    const inserted = rowsOf(
      await tx.execute(sql`INSERT INTO offchain.webhook_events (push_id, type, data, chain_id, block_number)
        VALUES (${envelope.id}, ${envelope.type}, ${JSON.stringify(envelope.data)}::jsonb, ${chainId ?? null}, ${block ?? null})
        ON CONFLICT (push_id) DO NOTHING RETURNING seq, created_at`),
    )[0];
    if (!inserted || !subscriptions.length) continue;
    const seq = Number(inserted.seq);
    const payload = eventPayload(envelope.id, envelope.type, envelope.data, new Date(String(inserted.created_at)));
    let targets = subscriptions.filter((s) => matches(s, envelope.type, envelope.data));
    if (envelope.type === "reorg" && typeof envelope.data.retracts === "string") {
      const previous = rowsOf(
        await tx.execute(
          sql`SELECT subscription_id, status, job_id FROM offchain.webhook_deliveries WHERE push_id = ${envelope.data.retracts} AND status <> 'cancelled'`,
        ),
      );
      const had = new Set(previous.map((p) => String(p.subscription_id)));
      const unsent = new Set(
        previous.filter((p) => p.status === "waiting" || (p.status === "pending" && p.job_id == null)).map((p) => String(p.subscription_id)),
      );
      if (unsent.size) {
        await tx.execute(sql`UPDATE offchain.webhook_deliveries SET status = 'cancelled', last_error = 'retracted before delivery', updated_at = now()
          WHERE push_id = ${envelope.data.retracts} AND (status = 'waiting' OR (status = 'pending' AND job_id IS NULL))`);
      }
      targets = subscriptions.filter((s) => had.has(s.id) && !unsent.has(s.id));
    }
    for (const sub of targets) {
      const waits = sub.minConfirmations > 0 && envelope.type !== "reorg" && chainId !== undefined && block !== undefined;
      await tx.execute(sql`INSERT INTO offchain.webhook_deliveries (id, subscription_id, event_seq, push_id, type, payload, status, chain_id, ready_block, max_attempts)
        VALUES (${randomUUID()}, ${sub.id}, ${seq}, ${envelope.id}, ${envelope.type}, ${JSON.stringify(payload)}::jsonb, ${waits ? "waiting" : "pending"},
          ${waits ? chainId! : null}, ${waits ? block! + sub.minConfirmations : null}, ${options.maxAttempts})`);
      created++;
    }
  }
  return created;
}

/** Releases deliveries whose event's chain is now indexed at or past their ready block. */
export async function releaseConfirmed(tx: Executor, checkpoints: { chainId: number; block: number }[]): Promise<number> {
  if (!checkpoints.length) return 0;
  // One statement for all chains: it runs on every notifier tick.
  const reached = sql.join(
    checkpoints.map((cp) => sql`(chain_id = ${cp.chainId} AND ready_block <= ${cp.block})`),
    sql` OR `,
  );
  const rows = rowsOf(
    await tx.execute(sql`UPDATE offchain.webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
      WHERE status = 'waiting' AND (${reached}) RETURNING id`),
  );
  return rows.length;
}
