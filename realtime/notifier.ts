/**
 * Chain pushes from committed indexed state. Every tick (one at a time across replicas: a
 * transaction-level Postgres advisory lock) compares, per chain, the activity rows of the window
 * (cursor − finality, newly indexed block] with the rows already handled (offchain.realtime_pushed):
 *   - a row not handled yet is published (`nft:minted`, `nft:transferred`, `bridge:initiated`, ...);
 *     a bridge delivery or failure is held until its send half is indexed, so `bridge:completed`
 *     always carries both halves and never precedes its `bridge:initiated`,
 *   - a handled row that is gone (a reorg removed it, and it is still missing after the index moved
 *     on) is retracted with a `reorg` push; if the same row comes back it gets a new push id,
 * then moves the cursor and forgets rows that fell out of the finality window. State changes commit
 * after the publishes succeed, so a restart or a failover resumes exactly where the last committed
 * tick ended (a crash between publish and commit can repeat a push with the same `id`, never skip one).
 *
 * With no cursor for a chain (first start) the notifier starts at the indexed head: history is
 * marked handled without pushes. Rows older than `maxEventAgeSeconds` are also consumed silently
 * (a backfill still running when the notifier first starts).
 */
import { BRIDGE_DEFAULTS } from "../infra/config/bridge.js";
import { and, asc, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import { getAddress, zeroAddress } from "viem";
import type { IndexedDb } from "../read/db.js";
import { indexedTables } from "../read/db.js";
import { readIndexerCheckpoints } from "../read/checkpoints.js";
import type { Logger } from "../infra/logger.js";
import { bridgeLatency, bridgesCompleted, bridgesFailed, bridgesInitiated, nftsMinted, notifierLag, notifierPushed } from "../infra/metrics.js";
import type { KeyValueStore } from "../infra/redis.js";
import { type TickLoop, startTickLoop } from "../infra/tickLoop.js";
import type { OffchainStore } from "../offchain/store.js";
import { type Envelope, REALTIME_WAKE_CHANNEL } from "./protocol.js";
import { publishPush } from "./pushLog.js";
import { recordWebhookEvents, releaseConfirmed } from "../webhooks/outbox.js";
import { wakeWebhookDispatchers } from "../webhooks/wake.js";
import { lifecycleStatus, stuckReason } from "../domain/bridge/lifecycle.js";
import { loadProgress } from "../domain/bridge/progressStore.js";
import { type SendOfUpdate, bridgeUpdates } from "./bridgeUpdates.js";
import { type OrderedPush, interleaveUpdates, orderPushes } from "./pushOrder.js";

const { activity, bridgeSend, bridgeReceive } = indexedTables;

/** pg_try_advisory_xact_lock key of the notifier (arbitrary constant). */
export const NOTIFIER_LOCK_KEY = 7_202_611_250_004;

export type NotifierOptions = {
  indexed: IndexedDb;
  store: OffchainStore;
  kv: KeyValueStore;
  logger: Logger;
  /** Tick interval while no commit notification can wake the notifier. Default 100. */
  intervalMs?: number;
  /**
   * Tick interval while `indexed.commits` is live: ticks run on each commit and on every wake (this
   * process's tracker, or any process's through `REALTIME_WAKE_CHANNEL`), this is a safety net.
   * Default 10000. A held completion schedules its own tick for when its hold ends.
   */
  idleTickMs?: number;
  /** Blocks a reorg can reach (Ponder: 30 on unknown chains such as the devnet). */
  finalityBlocks?: number;
  maxEventAgeSeconds?: number;
  /** A bridge sent this long ago and not delivered is announced as stuck. */
  stuckAfterSeconds?: number;
  stuckScanIntervalMs?: number;
  maxBlocksPerTick?: number;
  /**
   * How long a bridge's completion (or failure) is held for the bridge tracker to finish its steps
   * (so its bridge:updated pushes precede it), while the tracker is reading that chain.
   */
  bridgeHoldMs?: number;
  /** Attempts of each webhook delivery created for the pushes (webhooks/outbox.ts). Default 8. */
  webhookMaxAttempts?: number;
  now?: () => number;
};

export type TickResult = { leader: boolean; pushed: number; retracted: number; stuck: number; skipped?: boolean };

type ActivityRow = typeof activity.$inferSelect;
type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];

const PUSH_TYPE: Record<string, string> = {
  minted: "nft:minted",
  transferred: "nft:transferred",
  burned: "nft:burned",
  bridge_sent: "bridge:initiated",
  bridge_delivered: "bridge:completed",
  bridge_failed: "bridge:failed",
};

export const activityId = (r: Pick<ActivityRow, "chainId" | "blockNumber" | "logIndex" | "txHash">) =>
  `${r.chainId}:${r.blockNumber}:${r.logIndex}:${r.txHash}`;
const checksum = (a: string | null | undefined) => (a && a !== zeroAddress ? getAddress(a) : null);

type SendInfo = { guid: string; chainId: number; fromAddress: string; txHash: string; timestamp: bigint; blockNumber: bigint };

/** Destination halves of a bridge: published with their send half (see tick). */
const DESTINATION_TYPES = new Set(["bridge_delivered", "bridge_failed"]);
const halfOf = (type: string): OrderedPush["half"] => (type === "bridge_sent" ? "source" : DESTINATION_TYPES.has(type) ? "destination" : "none");

type RowState = "pushed" | "silent" | "held" | "retracted";
type Handled = {
  id: string;
  blockNumber: number;
  logIndex: number;
  type: string;
  rooms: string[];
  data: Record<string, unknown>;
  state: RowState;
  pushId: string;
  generation: number;
  missingSince: string | null;
  pushedAt: number;
};
type FreshPush = OrderedPush & { row: ActivityRow; envelope: Envelope };
/** One chain's part of a tick: its rows in (lo, hi]; `starting` = no cursor yet (history is silent). */
type ChainWindow = { chainId: number; starting: boolean; lo: number; hi: number };

function toHandled(r: Row): Handled {
  const id = String(r.id);
  return {
    id,
    blockNumber: Number(r.block_number),
    logIndex: Number(id.split(":")[2]),
    type: String(r.type),
    rooms: parseTextArray(r.rooms),
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
    state: String(r.state) as RowState,
    pushId: String(r.push_id ?? id),
    generation: Number(r.generation ?? 0),
    missingSince: r.missing_since == null ? null : String(r.missing_since),
    pushedAt: r.pushed_at ? new Date(String(r.pushed_at)).getTime() : 0,
  };
}

export class Notifier {
  private loop: TickLoop | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeWake: Promise<(() => Promise<void>) | undefined> | undefined;
  private lastStuckScan = 0;
  /**
   * What the last full leader tick saw (the index's checkpoint vector, caught up on every chain)
   * and the earliest instant a held row may go out; `dirty` = a commit or a wake since. An idle
   * tick with nothing new costs one checkpoint read, no transaction.
   */
  private settled: { vector: string } | undefined;
  private nextRelease: number | undefined;
  private dirty = true;
  private readonly log: Logger;
  private readonly o: Required<Omit<NotifierOptions, "indexed" | "store" | "kv" | "logger">>;

  constructor(private readonly deps: NotifierOptions) {
    this.log = deps.logger.child({ component: "notifier" });
    this.o = {
      intervalMs: deps.intervalMs ?? 100,
      idleTickMs: deps.idleTickMs ?? 10_000,
      finalityBlocks: deps.finalityBlocks ?? 30,
      maxEventAgeSeconds: deps.maxEventAgeSeconds ?? 3600,
      stuckAfterSeconds: deps.stuckAfterSeconds ?? BRIDGE_DEFAULTS.stuckAfterSeconds,
      stuckScanIntervalMs: deps.stuckScanIntervalMs ?? 15_000,
      maxBlocksPerTick: deps.maxBlocksPerTick ?? 2_000,
      bridgeHoldMs: deps.bridgeHoldMs ?? 2_000,
      webhookMaxAttempts: deps.webhookMaxAttempts ?? 8,
      now: deps.now ?? Date.now,
    };
  }

  /**
   * Ticks on every commit of the index (Ponder's NOTIFY, `indexed.commits`) and on `wake()`; every
   * `idleTickMs` while those notifications are live, every `intervalMs` while they are not.
   */
  start() {
    const commits = this.deps.indexed.commits;
    this.loop = startTickLoop({
      tick: () => this.tick({ skipIfSettled: !!commits?.live }),
      intervalMs: () => {
        const base = commits?.live ? this.o.idleTickMs : this.o.intervalMs;
        return this.nextRelease === undefined ? base : Math.max(0, Math.min(base, this.nextRelease - this.o.now()));
      },
      onError: (error) => this.log.warn({ err: error }, "notifier tick failed (retrying)"),
    });
    this.unsubscribe = commits?.subscribe(() => this.wake());
    // Another process's tracker stored progress (no commit announces it).
    this.unsubscribeWake = this.deps.kv
      .subscribe(REALTIME_WAKE_CHANNEL, () => this.wake())
      .catch((error) => {
        this.log.warn({ err: error }, "notifier: wake channel unavailable (idle tick only)");
        return undefined;
      });
    return this;
  }

  /** Runs a full tick now (e.g. a bridge tracker stored new progress). */
  wake() {
    this.dirty = true;
    this.loop?.wake();
  }

  /** Waits for the tick in progress (its state commits), then stops. */
  async stop() {
    this.unsubscribe?.();
    await (await this.unsubscribeWake)?.().catch(() => {});
    await this.loop?.stop();
    this.loop = undefined;
  }

  /**
   * One pass over the index. `skipIfSettled` (the loop's ticks while commits are announced): return
   * at once when nothing can have changed since the last full pass — no commit and no wake since,
   * nothing held, the same checkpoints, no stuck scan due.
   */
  async tick(options: { skipIfSettled?: boolean } = {}): Promise<TickResult> {
    const checkpoints = await readIndexerCheckpoints(this.deps.indexed);
    // The index's position: a handled row missing under one vector is only retracted once it is
    // still missing under another (see "missing" below).
    const vector = checkpoints.map((c) => `${c.chainId}:${c.checkpoint}`).join(",");
    const stuckDue = this.o.now() - this.lastStuckScan >= this.o.stuckScanIntervalMs;
    if (options.skipIfSettled && !this.dirty && !stuckDue && this.nextRelease === undefined && this.settled?.vector === vector)
      return { leader: true, pushed: 0, retracted: 0, stuck: 0, skipped: true };
    this.dirty = false;
    let nextRelease: number | undefined;
    const indexedChains = new Set(checkpoints.map((c) => c.chainId));
    const published: Envelope[] = [];
    let caughtUp = true;
    let deliveriesDue = false;
    const result = await this.deps.store.db
      .transaction(async (tx) => {
        const lock = rowsOf(await tx.execute(sql`SELECT pg_try_advisory_xact_lock(${NOTIFIER_LOCK_KEY}) AS ok`));
        if (!lock[0]?.ok) return { leader: false, pushed: 0, retracted: 0, stuck: 0 };
        const cursors = new Map(
          rowsOf(await tx.execute(sql`SELECT chain_id, block_number FROM offchain.realtime_cursor`)).map((r) => [Number(r.chain_id), Number(r.block_number)]),
        );
        const nowSeconds = this.o.now() / 1000;
        // Upper bound of this tick per chain: a delivery is published only once its send is within
        // the source chain's bound (so `bridge:initiated` goes out in this tick or went out before).
        const bounds = new Map(
          checkpoints.map((cp) => {
            const cursor = cursors.get(cp.chainId) ?? cp.block;
            return [cp.chainId, Math.max(cursor, Math.min(cp.block, cursor + this.o.maxBlocksPerTick))];
          }),
        );
        const fresh: FreshPush[] = [];
        const retractions: Envelope[] = [];

        // The window of each chain: (cursor − finality, hi]. Each read below is one query for all
        // chains (on PGlite every query is a turn of the one embedded database).
        const windows: ChainWindow[] = checkpoints.map((cp) => {
          if (bounds.get(cp.chainId)! < cp.block) caughtUp = false;
          const cursor = cursors.get(cp.chainId) ?? cp.block;
          return { chainId: cp.chainId, starting: !cursors.has(cp.chainId), lo: cursor - this.o.finalityBlocks, hi: bounds.get(cp.chainId)! };
        });
        const handledByChain = await this.handledRows(tx, windows);
        const presentByChain = await this.presentRows(windows, handledByChain);
        const byId = new Map([...handledByChain.values()].flat().map((h) => [h.id, h]));
        // Rows to announce: new ones, held ones, and tombstones that came back.
        const candidatesByChain = new Map(
          windows.map((w) => [
            w.chainId,
            (presentByChain.get(w.chainId) ?? []).filter((r) => {
              const h = byId.get(activityId(r));
              return !h || h.state === "held" || h.state === "retracted";
            }),
          ]),
        );
        const allCandidates = [...candidatesByChain.values()].flat();
        const { envelopes, sends } = await this.envelopes(tx, allCandidates);
        const arrivals = allCandidates.filter((r) => DESTINATION_TYPES.has(r.type) && r.guid);
        const progress = await this.progressStates(
          tx,
          arrivals.map((r) => r.guid!),
          [...new Set(arrivals.map((r) => r.chainId))],
        );

        for (const { chainId, starting } of windows) {
          const handled = handledByChain.get(chainId) ?? [];
          const presentIds = new Set((presentByChain.get(chainId) ?? []).map(activityId));
          const trackerActive = progress.trackerActive.has(chainId);
          for (const row of candidatesByChain.get(chainId) ?? []) {
            const id = activityId(row);
            const previous = byId.get(id);
            const envelope = envelopes.get(id)!;
            const tooOld = Number(row.timestamp) < nowSeconds - this.o.maxEventAgeSeconds;
            const send = row.guid ? sends.get(row.guid) : undefined;
            // A delivery or failure goes out with its send half, once that is indexed on the source
            // chain (within this tick's bound there); the source chain outside this index: without it.
            const waitsForSend =
              DESTINATION_TYPES.has(row.type) &&
              row.otherChainId != null &&
              indexedChains.has(row.otherChainId) &&
              !(send && Number(send.blockNumber) <= (bounds.get(send.chainId) ?? -1));
            // ... and once the bridge tracker has its steps (bridge:updated goes first), for a bounded time.
            const heldSince = previous?.state === "held" ? previous.pushedAt : this.o.now();
            const waitsForSteps =
              DESTINATION_TYPES.has(row.type) &&
              !!row.guid &&
              trackerActive &&
              !progress.final.has(row.guid.toLowerCase()) &&
              this.o.now() - heldSince < this.o.bridgeHoldMs;
            const generation = previous?.state === "retracted" ? previous.generation + 1 : (previous?.generation ?? 0);
            const state: RowState = starting || tooOld ? "silent" : waitsForSend || waitsForSteps ? "held" : "pushed";
            // Held for the tracker: tick again when the hold ends (held for its send: a commit brings it).
            if (state === "held" && waitsForSteps) nextRelease = Math.min(nextRelease ?? Infinity, heldSince + this.o.bridgeHoldMs);
            if (previous?.state === "held" && state === "held") continue;
            envelope.id = generation ? `${id}#${generation}` : id;
            await tx.execute(sql`INSERT INTO offchain.realtime_pushed (id, chain_id, block_number, type, rooms, data, state, push_id, generation)
            VALUES (${id}, ${row.chainId}, ${Number(row.blockNumber)}, ${envelope.type}, ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(envelope.rooms)}::jsonb)), ${JSON.stringify(envelope.data)}::jsonb, ${state}, ${envelope.id}, ${generation})
            ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, rooms = EXCLUDED.rooms, data = EXCLUDED.data, state = EXCLUDED.state,
              push_id = EXCLUDED.push_id, generation = EXCLUDED.generation, missing_since = NULL, pushed_at = now()`);
            if (state === "pushed") fresh.push({ row, envelope, orderKey: row.orderKey, guid: row.guid, half: halfOf(row.type) });
          }
          for (const h of handled) {
            if (h.state === "retracted") continue;
            if (presentIds.has(h.id)) {
              if (h.missingSince !== null) await tx.execute(sql`UPDATE offchain.realtime_pushed SET missing_since = NULL WHERE id = ${h.id}`);
              continue;
            }
            // Missing. Ponder 0.16's multichain revert also removes rows of other chains written after
            // the reorged operation and restores them with its next block: the row is gone only if it
            // is still missing once the index has moved on (another checkpoint vector).
            if (h.missingSince === null) {
              await tx.execute(sql`UPDATE offchain.realtime_pushed SET missing_since = ${vector} WHERE id = ${h.id}`);
            } else if (h.missingSince !== vector && h.state !== "pushed") {
              await tx.execute(sql`DELETE FROM offchain.realtime_pushed WHERE id = ${h.id}`);
            } else if (h.missingSince !== vector) {
              await tx.execute(sql`UPDATE offchain.realtime_pushed SET state = 'retracted', missing_since = NULL WHERE id = ${h.id}`);
              retractions.push({ type: "reorg", id: `reorg:${h.pushId}`, rooms: h.rooms, data: { retracts: h.pushId, retractedType: h.type, ...h.data } });
            }
          }
        }
        if (windows.length) {
          await tx.execute(sql`INSERT INTO offchain.realtime_cursor (chain_id, block_number) VALUES ${sql.join(
            windows.map((w) => sql`(${w.chainId}, ${w.hi})`),
            sql`, `,
          )}
          ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number, updated_at = now()`);
          // Forget rows that fell out of the finality window.
          await tx.execute(
            sql`DELETE FROM offchain.realtime_pushed WHERE state <> 'held' AND (${sql.join(
              windows.map((w) => sql`(chain_id = ${w.chainId} AND block_number <= ${w.hi - this.o.finalityBlocks})`),
              sql` OR `,
            )})`,
          );
        }

        // Retractions first (the reorg happened before the rows that replaced it), then a total order;
        // each bridge's bridge:updated pushes between its initiated and its completion.
        const ordered = orderPushes(fresh);
        const steps = await bridgeUpdates({
          tx,
          bounds,
          sends: (guids) => this.sendsOf(tx, guids),
          silentSend: async (send) => this.sendWasSilent(tx, send, nowSeconds),
        });
        published.push(...retractions, ...steps.retractions, ...interleaveUpdates(ordered, steps.updates));
        let stuck = 0;
        if (this.o.now() - this.lastStuckScan >= this.o.stuckScanIntervalMs) {
          const announced = await this.scanStuck(tx);
          published.push(...announced);
          stuck = announced.length;
        }
        // Webhook deliveries of these pushes, and of earlier ones whose confirmations are now reached,
        // in the same transaction (webhooks/outbox.ts): they exist exactly when the state commits.
        const created = await recordWebhookEvents(tx, published, { maxAttempts: this.o.webhookMaxAttempts });
        deliveriesDue = created + (await releaseConfirmed(tx, checkpoints)) > 0;
        // Published inside the transaction: a failed publish rolls the state back (retried next tick).
        // Each push is also appended to the resume log (realtime/pushLog.ts), once.
        for (const envelope of published) await publishPush(this.deps.kv, envelope);
        for (const { row, envelope } of ordered) this.count(row, envelope);
        if (ordered.length) notifierLag.set(Math.max(0, nowSeconds - Number(ordered.at(-1)!.row.timestamp)));
        return { leader: true, pushed: ordered.length, retracted: retractions.length, stuck };
      })
      .catch((error) => {
        this.dirty = true;
        throw error;
      });
    // Committed: the dispatchers may hand the new deliveries over now.
    if (deliveriesDue) wakeWebhookDispatchers(this.deps.kv);
    this.nextRelease = nextRelease;
    this.settled = result.leader && caughtUp ? { vector } : undefined;
    if (result.leader && this.o.now() - this.lastStuckScan >= this.o.stuckScanIntervalMs) this.lastStuckScan = this.o.now();
    if (published.length) this.log.debug({ ...result }, "notifier published");
    return result;
  }

  /** The handled rows of each chain's window, and its held rows wherever they are. */
  private async handledRows(tx: Tx, windows: ChainWindow[]): Promise<Map<number, Handled[]>> {
    const out = new Map<number, Handled[]>(windows.map((w) => [w.chainId, []]));
    if (!windows.length) return out;
    const rows = rowsOf(
      await tx.execute(sql`SELECT id, chain_id, block_number, type, rooms, data, state, push_id, generation, missing_since, pushed_at FROM offchain.realtime_pushed
      WHERE chain_id IN (${sql.join(
        windows.map((w) => sql`${w.chainId}`),
        sql`, `,
      )}) AND (state = 'held' OR ${sql.join(
        windows.map((w) => sql`(chain_id = ${w.chainId} AND block_number > ${w.lo})`),
        sql` OR `,
      )})`),
    );
    for (const r of rows) out.get(Number(r.chain_id))?.push(toHandled(r));
    return out;
  }

  /** Activity rows of each chain's window (lo, hi], plus its held rows that fell out of the window. */
  private async presentRows(windows: ChainWindow[], handled: Map<number, Handled[]>): Promise<Map<number, ActivityRow[]>> {
    const out = new Map<number, ActivityRow[]>(windows.map((w) => [w.chainId, []]));
    if (!windows.length) return out;
    const perChain = windows.map((w) => {
      const inWindow = and(gt(activity.blockNumber, BigInt(w.lo)), lte(activity.blockNumber, BigInt(w.hi)));
      const held = (handled.get(w.chainId) ?? [])
        .filter((h) => h.state === "held" && h.blockNumber <= w.lo)
        .map((h) => and(eq(activity.blockNumber, BigInt(h.blockNumber)), eq(activity.logIndex, h.logIndex)));
      return and(eq(activity.chainId, w.chainId), held.length ? or(inWindow, ...held) : inWindow);
    });
    const rows = await this.deps.indexed.db
      .select()
      .from(activity)
      .where(or(...perChain))
      .orderBy(asc(activity.chainId), asc(activity.blockNumber), asc(activity.logIndex));
    for (const r of rows) out.get(r.chainId)?.push(r);
    return out;
  }

  private count(row: ActivityRow, envelope: Envelope) {
    notifierPushed.inc({ type: envelope.type });
    if (row.type === "minted") nftsMinted.inc({ chain_id: String(row.chainId) });
    else if (row.type === "bridge_sent") bridgesInitiated.inc();
    else if (row.type === "bridge_failed") bridgesFailed.inc();
    else if (row.type === "bridge_delivered") {
      bridgesCompleted.inc();
      const latency = envelope.data.latencySeconds;
      if (typeof latency === "number") bridgeLatency.observe(latency);
    }
  }

  /** Envelopes of activity rows; bridge rows are joined with their send half and the off-chain operation. */
  private async envelopes(tx: Tx, rows: ActivityRow[]): Promise<{ envelopes: Map<string, Envelope>; sends: Map<string, SendInfo> }> {
    const guids = [...new Set(rows.map((r) => r.guid).filter((g): g is `0x${string}` => !!g))];
    const sends = new Map<string, SendInfo>();
    if (guids.length) {
      const found = await this.deps.indexed.db
        .select({
          guid: bridgeSend.guid,
          chainId: bridgeSend.chainId,
          fromAddress: bridgeSend.fromAddress,
          txHash: bridgeSend.txHash,
          timestamp: bridgeSend.timestamp,
          blockNumber: bridgeSend.blockNumber,
        })
        .from(bridgeSend)
        .where(inArray(bridgeSend.guid, guids));
      for (const s of found) sends.set(s.guid, s);
    }
    const operations = await this.operationIds(
      tx,
      guids,
      rows.filter((r) => r.type === "bridge_sent").map((r) => r.txHash),
    );
    const out = new Map<string, Envelope>();
    for (const row of rows) {
      const id = activityId(row);
      const send = row.guid ? sends.get(row.guid) : undefined;
      const from = checksum(row.from ?? send?.fromAddress);
      const to = checksum(row.to);
      const data: Record<string, unknown> = {
        chainId: row.chainId,
        blockNumber: String(row.blockNumber),
        logIndex: row.logIndex,
        txHash: row.txHash,
        timestamp: Number(row.timestamp),
        orderKey: row.orderKey,
        collection: row.collection,
        tokenId: String(row.tokenId),
        from,
        to,
        ...(row.guid ? { guid: row.guid, otherChainId: row.otherChainId } : {}),
      };
      const rooms = [`collection:${row.collection}`, `nft:${row.collection}:${row.tokenId}`];
      if (from) rooms.push(`user:${from}`);
      if (to) rooms.push(`user:${to}`);
      if (row.guid) {
        rooms.push(`bridge:${row.guid}`);
        const sourceTx = row.type === "bridge_sent" ? row.txHash : send?.txHash;
        if (sourceTx) rooms.push(`bridge:${sourceTx.toLowerCase()}`);
        const operation = operations.get(row.guid) ?? (sourceTx ? operations.get(sourceTx.toLowerCase()) : undefined);
        if (operation) {
          rooms.push(`bridge:${operation}`);
          data.operationId = operation;
        }
        if (send && row.type !== "bridge_sent") {
          data.srcChainId = send.chainId;
          data.srcTxHash = send.txHash;
          // Block times of two chains are two clocks (anvil runs ahead by a second per block within a
          // second): a delivery stamped before its send counts as 0 s.
          if (row.type === "bridge_delivered") data.latencySeconds = Math.max(0, Number(row.timestamp - send.timestamp));
        }
      }
      out.set(id, { type: PUSH_TYPE[row.type] ?? `activity:${row.type}`, id, rooms: [...new Set(rooms)], data });
    }
    return { envelopes: out, sends };
  }

  /** Off-chain bridge operation ids (api/bridge) by guid or source tx hash, when that table exists. */
  private async operationIds(tx: Tx, guids: string[], txHashes: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const keys = [...guids, ...txHashes].map((k) => k.toLowerCase());
    if (!keys.length) return out;
    const exists = rowsOf(await tx.execute(sql`SELECT to_regclass('offchain.bridge_operations') IS NOT NULL AS ok`));
    if (!exists[0]?.ok) return out;
    const list = sql.join(
      keys.map((k) => sql`${k}`),
      sql`, `,
    );
    const rows = rowsOf(
      await tx.execute(
        sql`SELECT id, lower(guid) AS guid, lower(tx_hash) AS tx_hash FROM offchain.bridge_operations WHERE lower(guid) IN (${list}) OR lower(tx_hash) IN (${list})`,
      ),
    );
    for (const r of rows) {
      if (r.guid) out.set(String(r.guid), String(r.id));
      if (r.tx_hash) out.set(String(r.tx_hash), String(r.id));
    }
    return out;
  }

  /** Which of these arrivals' progress is final, and which of their chains the tracker reads (lately). */
  private async progressStates(tx: Tx, guids: string[], chainIds: number[]): Promise<{ final: Set<string>; trackerActive: Set<number> }> {
    const trackerActive = new Set<number>();
    if (!guids.length) return { final: new Set(), trackerActive };
    const trackers = rowsOf(
      await tx.execute(
        sql`SELECT chain_id, checked_at FROM offchain.bridge_tracker_chains WHERE chain_id IN (${sql.join(
          chainIds.map((id) => sql`${id}`),
          sql`, `,
        )})`,
      ),
    );
    for (const t of trackers) if (this.o.now() - new Date(String(t.checked_at)).getTime() < 10_000) trackerActive.add(Number(t.chain_id));
    if (!trackerActive.size) return { final: new Set(), trackerActive };
    const list = sql.join(
      guids.map((g) => sql`${g.toLowerCase()}`),
      sql`, `,
    );
    const rows = rowsOf(await tx.execute(sql`SELECT guid FROM offchain.bridge_progress WHERE final AND guid IN (${list})`));
    return { final: new Set(rows.map((r) => String(r.guid))), trackerActive };
  }

  /** The sends of bridges with progress to announce, with the rooms their pushes go to. */
  private async sendsOf(tx: Tx, guids: string[]): Promise<Map<string, SendOfUpdate>> {
    const found = await this.deps.indexed.db
      .select({
        guid: bridgeSend.guid,
        chainId: bridgeSend.chainId,
        blockNumber: bridgeSend.blockNumber,
        logIndex: bridgeSend.logIndex,
        timestamp: bridgeSend.timestamp,
        collection: bridgeSend.collection,
        tokenId: bridgeSend.tokenId,
        txHash: bridgeSend.txHash,
        fromAddress: bridgeSend.fromAddress,
        recipient: bridgeSend.recipient,
      })
      .from(bridgeSend)
      .where(inArray(bridgeSend.guid, guids as `0x${string}`[]));
    const operations = await this.operationIds(
      tx,
      found.map((f) => f.guid),
      found.map((f) => f.txHash),
    );
    const out = new Map<string, SendOfUpdate>();
    for (const f of found) {
      const rooms = [`bridge:${f.guid.toLowerCase()}`, `bridge:${f.txHash.toLowerCase()}`, `collection:${f.collection}`, `nft:${f.collection}:${f.tokenId}`];
      const operation = operations.get(f.guid.toLowerCase()) ?? operations.get(f.txHash.toLowerCase());
      if (operation) rooms.push(`bridge:${operation}`);
      for (const a of [checksum(f.fromAddress), checksum(f.recipient)]) if (a) rooms.push(`user:${a}`);
      out.set(f.guid.toLowerCase(), { ...f, rooms: [...new Set(rooms)] });
    }
    return out;
  }

  /** Whether the send's own push was consumed silently (history at first start, or too old). */
  private async sendWasSilent(tx: Tx, send: SendOfUpdate, nowSeconds: number): Promise<boolean> {
    const id = `${send.chainId}:${send.blockNumber}:${send.logIndex}:${send.txHash}`;
    const row = rowsOf(await tx.execute(sql`SELECT state FROM offchain.realtime_pushed WHERE id = ${id}`))[0];
    if (row) return String(row.state) === "silent";
    return Number(send.timestamp) < nowSeconds - this.o.maxEventAgeSeconds;
  }

  /** Bridges sent more than stuckAfterSeconds ago and not delivered: one push each, with what they wait for. */
  private async scanStuck(tx: Tx): Promise<Envelope[]> {
    const before = BigInt(Math.floor(this.o.now() / 1000 - this.o.stuckAfterSeconds));
    const { db } = this.deps.indexed;
    const stuck = await db
      .select({
        guid: bridgeSend.guid,
        chainId: bridgeSend.chainId,
        dstChainId: bridgeSend.dstChainId,
        collection: bridgeSend.collection,
        tokenId: bridgeSend.tokenId,
        fromAddress: bridgeSend.fromAddress,
        recipient: bridgeSend.recipient,
        txHash: bridgeSend.txHash,
        timestamp: bridgeSend.timestamp,
        status: bridgeReceive.status,
        failureReason: bridgeReceive.failureReason,
      })
      .from(bridgeSend)
      .leftJoin(bridgeReceive, eq(bridgeReceive.guid, bridgeSend.guid))
      .where(and(lte(bridgeSend.timestamp, before), or(sql`${bridgeReceive.status} IS NULL`, sql`${bridgeReceive.status} <> 'DELIVERED'`)))
      .limit(1000);
    if (!stuck.length) return [];
    const progress = await loadProgress(
      tx,
      stuck.map((s) => s.guid),
      { staleAfterMs: Number.POSITIVE_INFINITY },
    );
    const list = sql.join(
      stuck.map((s) => sql`${s.guid}`),
      sql`, `,
    );
    const known = new Set(rowsOf(await tx.execute(sql`SELECT guid FROM offchain.realtime_stuck WHERE guid IN (${list})`)).map((r) => String(r.guid)));
    const operations = await this.operationIds(
      tx,
      stuck.map((s) => s.guid),
      stuck.map((s) => s.txHash),
    );
    const out: Envelope[] = [];
    for (const s of stuck.filter((s) => !known.has(s.guid)).slice(0, 100)) {
      await tx.execute(sql`INSERT INTO offchain.realtime_stuck (guid) VALUES (${s.guid}) ON CONFLICT DO NOTHING`);
      const from = checksum(s.fromAddress);
      const to = checksum(s.recipient);
      const operation = operations.get(s.guid) ?? operations.get(s.txHash.toLowerCase());
      const rooms = [`bridge:${s.guid}`, `bridge:${s.txHash.toLowerCase()}`, `collection:${s.collection}`, `nft:${s.collection}:${s.tokenId}`];
      if (operation) rooms.push(`bridge:${operation}`);
      if (from) rooms.push(`user:${from}`);
      if (to) rooms.push(`user:${to}`);
      out.push({
        type: "bridge:stuck",
        id: `stuck:${s.guid}`,
        rooms: [...new Set(rooms)],
        data: {
          guid: s.guid,
          chainId: s.chainId,
          dstChainId: s.dstChainId,
          collection: s.collection,
          tokenId: String(s.tokenId),
          from,
          to,
          txHash: s.txHash,
          sentAt: Number(s.timestamp),
          status: lifecycleStatus({ sent: true, receive: s.status ? { status: s.status } : undefined, progress: progress.get(s.guid.toLowerCase())?.progress }),
          reason: stuckReason(
            lifecycleStatus({ sent: true, receive: s.status ? { status: s.status } : undefined, progress: progress.get(s.guid.toLowerCase())?.progress }),
            progress.get(s.guid.toLowerCase())?.progress,
          ).reason,
          failureReason: s.failureReason ?? null,
          ...(operation ? { operationId: operation } : {}),
        },
      });
    }
    return out;
  }
}

type Tx = Parameters<Parameters<OffchainStore["db"]["transaction"]>[0]>[0];

function parseTextArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  const text = String(value ?? "");
  return text
    .replace(/^\{|\}$/g, "")
    .split(",")
    .filter(Boolean)
    .map((s) => s.replace(/^"|"$/g, ""));
}
