/**
 * The bridge tracker: for bridges in flight (indexed sends not yet final), reads their progress
 * from the chains (readProgress.ts) at most once per new destination block, and stores it
 * (offchain.bridge_progress) — outside Ponder's handlers, which stay pure. One tick at a time
 * across replicas on Postgres (a transaction-level advisory lock, like the notifier); on PGlite it
 * holds no transaction across its chain reads (see `tick`). The notifier announces what changed
 * (`bridge:updated`). The same path runs on every network, the devnet included.
 *
 * Costs: one head read per chain and tick; per destination block, one JSON-RPC batch with, per
 * bridge, the endpoint's two reads and (until it is committed) one hashLookup per DVN, plus the
 * receive config per (receiver, source EID) every 30 s; a log search per newly seen step.
 */
import { and, desc, eq, gt, inArray, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { Hex, PublicClient } from "viem";
import { type IndexedDb, indexedTables } from "../../read/db.js";
import { feesPaidInReceipt, feesPaidToJson } from "../../chain/layerzero/feesPaid.js";
import type { ReceivePathway } from "../../chain/layerzero/pathway.js";
import type { IndexerSetup } from "../../indexer/setup.js";
import { orderKey } from "../../indexer/model.js";
import type { Logger } from "../../infra/logger.js";
import { BACKGROUND_COMMIT_DELAY_MS, type TickLoop, startTickLoop } from "../../infra/tickLoop.js";
import { type HeadWatcher, watchHeads } from "../../chain/heads.js";
import type { OffchainStore } from "../../offchain/store.js";
import type { BridgeProgress } from "./progress.js";
import { type InFlight, readProgress } from "./readProgress.js";
import { trackerClient } from "./trackerClient.js";

const { bridgeSend, bridgeReceive } = indexedTables;

/** Outcomes (deliveries, failures) this recent get their steps read once even if never seen in flight. */
const RECENT_OUTCOMES_SECONDS = 3600;

/** The smallest activity order key of a block at `ms` (order keys start with the zero-padded block time). */
const orderKeyAfter = (ms: number) => orderKey(BigInt(Math.floor(ms / 1000)), 0, 0n, 0);

/** pg_try_advisory_xact_lock key of the tracker (arbitrary constant). */
export const TRACKER_LOCK_KEY = 7_202_611_250_005;

export type TrackerOptions = {
  indexed: IndexedDb;
  store: OffchainStore;
  network: IndexerSetup;
  logger: Logger;
  /** Tick interval while nothing can wake the tracker (no commit notifications, or bridges in flight on a chain without head subscription). Default 250. */
  intervalMs?: number;
  /** Tick interval with nothing in flight while commits wake it (a safety net). Default 10000. */
  idleTickMs?: number;
  /**
   * Tick interval with bridges in flight while new heads wake it. Default 1000: a quiet chain mines
   * no head, and the notifier holds a completion only while the tracker read its chain lately.
   */
  inFlightTickMs?: number;
  /** Called after a tick stored new progress (the notifier announces it: bridge:updated). */
  onProgress?: () => void;
  /** Bridges sent longer ago than this are not read any more. */
  maxAgeSeconds?: number;
  /** At most this many bridges in flight are read (the newest). */
  maxInFlight?: number;
  /** A read client per chain (default: trackerClient.ts over the chain's RPC URL). */
  clientFor?: (chainId: number) => PublicClient;
  now?: () => number;
};

export type TrackerTick = { leader: boolean; read: number; changed: number; chains: number };

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];

/** The parts of a progress whose change is worth announcing (not when it was read). */
export function progressSignature(p: BridgeProgress): string {
  return JSON.stringify([
    Math.min(p.sourceConfirmations, p.requiredConfirmations),
    p.requiredConfirmations,
    p.dvns.map((d) => [d.address.toLowerCase(), d.verified, d.step?.txHash ?? null]),
    p.committed ? [p.committed.payloadHash, p.committed.step?.txHash ?? null] : null,
    p.clearedOnChain,
  ]);
}

export class BridgeTracker {
  private loop: TickLoop | undefined;
  private readonly stopWatching: (() => void)[] = [];
  private readonly headWatchers: HeadWatcher[] = [];
  /** Bridges not final after the last tick this process led (new heads only matter while > 0). */
  private pending = 0;
  private readonly log: Logger;
  private readonly clients = new Map<number, PublicClient>();
  private readonly pathways = new Map<number, Map<string, { at: number; value: Promise<ReceivePathway> }>>();
  /** Per chain: the head of the last complete read, and the errors logged (once per message). */
  private readonly lastRead = new Map<number, bigint>();
  private readonly lastError = new Map<number, string>();
  private readonly o: Required<Pick<TrackerOptions, "intervalMs" | "idleTickMs" | "inFlightTickMs" | "maxAgeSeconds" | "maxInFlight" | "now">>;

  constructor(private readonly deps: TrackerOptions) {
    this.log = deps.logger.child({ component: "bridge-tracker" });
    this.o = {
      intervalMs: deps.intervalMs ?? 250,
      idleTickMs: deps.idleTickMs ?? 10_000,
      inFlightTickMs: deps.inFlightTickMs ?? 1_000,
      maxAgeSeconds: deps.maxAgeSeconds ?? 7 * 24 * 3600,
      maxInFlight: deps.maxInFlight ?? 2_000,
      now: deps.now ?? Date.now,
    };
  }

  /**
   * Ticks on every commit of the index (a new send, an outcome) and, while bridges are in flight,
   * on every new head of a chain (its progress only changes with a block). Without those signals it
   * polls every `intervalMs`; with them, `idleTickMs` is only a safety net.
   */
  start() {
    const commits = this.deps.indexed.commits;
    const chains = this.deps.network.chains;
    for (const chain of chains) {
      if (!chain.ws) continue;
      this.headWatchers.push(watchHeads({ rpcUrl: chain.rpcUrl, wsUrl: chain.ws, pollMs: 0, onHead: () => this.pending > 0 && this.loop?.wake() }));
    }
    const headsLive = () => this.headWatchers.length === chains.length && this.headWatchers.every((w) => w.live);
    this.loop = startTickLoop({
      tick: async () => {
        const result = await this.tick();
        if (result.changed > 0) this.deps.onProgress?.();
      },
      intervalMs: () => (this.pending > 0 ? (headsLive() ? this.o.inFlightTickMs : this.o.intervalMs) : commits?.live ? this.o.idleTickMs : this.o.intervalMs),
      onError: (error) => this.log.warn({ err: error }, "bridge tracker tick failed (retrying)"),
    });
    // A commit (a new send, an outcome) waits for the notifier's tick first (infra/tickLoop.ts);
    // heads wake at once: the tracker then reads while Ponder indexes the same block.
    if (commits) this.stopWatching.push(commits.subscribe(() => this.loop?.wakeIn(BACKGROUND_COMMIT_DELAY_MS)));
    return this;
  }

  async stop() {
    for (const fn of this.stopWatching.splice(0)) fn();
    for (const w of this.headWatchers.splice(0)) w.close();
    await this.loop?.stop();
    this.loop = undefined;
  }

  private client(chainId: number): PublicClient | undefined {
    let client = this.clients.get(chainId);
    if (!client) {
      const chain = this.deps.network.chains.find((c) => c.chainId === chainId);
      if (!chain) return undefined;
      client = this.deps.clientFor?.(chainId) ?? trackerClient(chain);
      this.clients.set(chainId, client);
    }
    return client;
  }

  /**
   * Replicas (they need Postgres) take turns: a tick runs in one transaction holding the advisory
   * lock. PGlite is one process with one connection, so this tick loop is its only tracker; there a
   * transaction held across the RPC reads would queue every other off-chain query (the notifier's
   * tick, `GET /bridge/{guid}`) behind them, so it reads outside any transaction and writes in one
   * short transaction at the end.
   */
  async tick(): Promise<TrackerTick> {
    const { store } = this.deps;
    if (store.kind === "pglite") {
      return await this.run(store.db, (writes) => store.db.transaction(async (tx) => void (await this.apply(tx, writes))));
    }
    return await store.db.transaction(async (tx) => {
      const lock = rowsOf(await tx.execute(sql`SELECT pg_try_advisory_xact_lock(${TRACKER_LOCK_KEY}) AS ok`));
      if (!lock[0]?.ok) return { leader: false, read: 0, changed: 0, chains: 0 };
      return await this.run(tx, (writes) => this.apply(tx, writes));
    });
  }

  private async apply(tx: Reader, writes: SQL[]) {
    for (const write of writes) await tx.execute(write);
  }

  /** One tick as the leader: reads through `db`, then hands its writes (heads, progress) to `write`. */
  private async run(db: Reader, write: (writes: SQL[]) => Promise<void>): Promise<TrackerTick> {
    const writes: SQL[] = [];
    const now = this.o.now();
    const inFlight = await this.inFlight(db, now);
    const known = new Map<string, { progress: BridgeProgress; final: boolean; signature: string }>();
    if (inFlight.length) {
      const list = sql.join(
        inFlight.map((b) => sql`${b.guid}`),
        sql`, `,
      );
      for (const r of rowsOf(await db.execute(sql`SELECT guid, progress, final FROM offchain.bridge_progress WHERE guid IN (${list})`))) {
        const progress = (typeof r.progress === "string" ? JSON.parse(r.progress) : r.progress) as BridgeProgress;
        known.set(String(r.guid), { progress, final: r.final === true, signature: progressSignature(progress) });
      }
    }
    const pending = inFlight.filter((b) => !known.get(b.guid)?.final);
    this.pending = pending.length;

    // Heads of every chain involved (confirmations count on the source; reads happen per destination block).
    const chainIds = [...new Set(pending.flatMap((b) => [b.srcChainId, b.dstChainId]))];
    const heads = new Map<number, { number: bigint; timestamp: bigint }>();
    await Promise.all(
      chainIds.map(async (chainId) => {
        const client = this.client(chainId);
        if (!client) return;
        try {
          const block = await client.getBlock({ blockTag: "latest" });
          heads.set(chainId, { number: block.number, timestamp: block.timestamp });
          writes.push(sql`INSERT INTO offchain.bridge_tracker_chains (chain_id, head, checked_at, error) VALUES (${chainId}, ${Number(block.number)}, now(), NULL)
              ON CONFLICT (chain_id) DO UPDATE SET head = EXCLUDED.head, checked_at = EXCLUDED.checked_at, error = NULL`);
          if (this.lastError.delete(chainId)) this.log.info({ chainId }, "bridge tracker: chain readable again");
        } catch (error) {
          this.failed(chainId, error);
          writes.push(sql`UPDATE offchain.bridge_tracker_chains SET error = ${String((error as Error).message).slice(0, 300)} WHERE chain_id = ${chainId}`);
        }
      }),
    );
    const sourceHeads = new Map([...heads].map(([id, h]) => [id, h.number]));

    let read = 0;
    let changed = 0;
    const byDst = new Map<number, (InFlight & { outcome: string | null; sendTx: Hex })[]>();
    for (const b of pending) byDst.set(b.dstChainId, [...(byDst.get(b.dstChainId) ?? []), b]);
    for (const [dstChainId, bridges] of byDst) {
      const head = heads.get(dstChainId);
      const client = this.client(dstChainId);
      const endpoint = this.deps.network.chains.find((c) => c.chainId === dstChainId)?.endpoint;
      if (!head || !client || !endpoint) continue;
      // Once per destination block, unless a bridge is new here or waits for source confirmations.
      const fresh = bridges.filter((b) => {
        const p = known.get(b.guid)?.progress;
        if (!p || this.lastRead.get(dstChainId) !== head.number) return true;
        const src = sourceHeads.get(b.srcChainId);
        return src !== undefined && p.sourceConfirmations < p.requiredConfirmations && Number(src - b.sendBlock + 1n) !== p.sourceConfirmations;
      });
      if (!fresh.length) continue;
      let progresses: BridgeProgress[];
      try {
        const pathways = this.pathways.get(dstChainId) ?? new Map();
        this.pathways.set(dstChainId, pathways);
        progresses = await readProgress({
          dst: { client, endpoint },
          head,
          bridges: fresh,
          previous: new Map(fresh.flatMap((b) => (known.get(b.guid) ? [[b.guid, known.get(b.guid)!.progress]] : []))),
          sourceHeads,
          pathways,
          nowMs: now,
        });
      } catch (error) {
        this.failed(dstChainId, error);
        continue;
      }
      this.lastRead.set(dstChainId, head.number);
      read += progresses.length;
      await this.readFeesPaid(progresses, fresh, known);
      for (const p of progresses) {
        const bridge = fresh.find((b) => b.guid === p.guid)!;
        const before = known.get(p.guid);
        const signature = progressSignature(p);
        // Final once the index has the outcome and the commit's transaction is known (or the
        // packet left the endpoint): nothing will change on chain any more.
        const final = bridge.outcome !== null && (!!p.committed?.step || p.clearedOnChain);
        if (before && before.signature === signature && before.final === final) continue;
        changed++;
        writes.push(sql`INSERT INTO offchain.bridge_progress (guid, src_chain_id, dst_chain_id, progress, final)
            VALUES (${p.guid}, ${p.srcChainId}, ${p.dstChainId}, ${JSON.stringify(p)}::jsonb, ${final})
            ON CONFLICT (guid) DO UPDATE SET progress = EXCLUDED.progress, final = EXCLUDED.final, updated_at = now(),
              version = offchain.bridge_progress.version + ${before?.signature === signature ? 0 : 1}`);
      }
    }
    try {
      if (writes.length) await write(writes);
    } catch (error) {
      this.lastRead.clear(); // nothing stored: read every destination again next tick
      throw error;
    }
    return { leader: true, read, changed, chains: heads.size };
  }

  /** What each send paid its workers, from its receipt, once per bridge (kept with the progress). */
  private async readFeesPaid(progresses: BridgeProgress[], bridges: (InFlight & { sendTx: Hex })[], known: Map<string, { progress: BridgeProgress }>) {
    await Promise.all(
      progresses.map(async (p) => {
        const before = known.get(p.guid)?.progress.paid;
        if (before !== undefined) return void (p.paid = before);
        const bridge = bridges.find((b) => b.guid === p.guid);
        const client = this.client(p.srcChainId);
        if (!bridge || !client) return;
        try {
          const receipt = await client.getTransactionReceipt({ hash: bridge.sendTx });
          const found = feesPaidInReceipt(receipt.logs, p.guid);
          p.paid = found ? feesPaidToJson(found) : null;
        } catch (error) {
          this.failed(p.srcChainId, error); // read again next time
        }
      }),
    );
  }

  /** Logged once per chain and message; the bridge's status then reads `stale`. */
  private failed(chainId: number, error: unknown) {
    const message = String((error as Error)?.message ?? error)
      .split("\n")[0]!
      .slice(0, 200);
    if (this.lastError.get(chainId) === message) return;
    this.lastError.set(chainId, message);
    this.log.warn({ chainId, err: error }, "bridge tracker: chain read failed (status reads are stale until it works again)");
  }

  /**
   * What to read: indexed sends to indexed chains without an outcome in the index (newest first, at
   * most maxInFlight), and those with a stored progress not final yet (the outcome just arrived: one
   * last read fills in the steps).
   */
  private async inFlight(tx: Reader, now: number): Promise<(InFlight & { outcome: string | null; sendTx: Hex })[]> {
    const since = BigInt(Math.floor(now / 1000 - this.o.maxAgeSeconds));
    const columns = {
      guid: bridgeSend.guid,
      srcChainId: bridgeSend.chainId,
      dstChainId: bridgeSend.dstChainId,
      srcEid: bridgeSend.srcEid,
      dstEid: bridgeSend.dstEid,
      nonce: bridgeSend.nonce,
      sender: bridgeSend.oapp,
      receiver: bridgeSend.dstOapp,
      message: bridgeSend.message,
      sendBlock: bridgeSend.blockNumber,
      sendTx: bridgeSend.txHash,
      outcome: bridgeReceive.status,
    };
    const { db } = this.deps.indexed;
    const open = await db
      .select(columns)
      .from(bridgeSend)
      .leftJoin(bridgeReceive, eq(bridgeReceive.guid, bridgeSend.guid))
      .where(and(gt(bridgeSend.timestamp, since), isNotNull(bridgeSend.dstChainId), isNull(bridgeReceive.guid)))
      .orderBy(desc(bridgeSend.orderKey))
      .limit(this.o.maxInFlight);
    const openGuids = new Set(open.map((r) => r.guid.toLowerCase()));
    // Settled in the index but not final here: the progress of a bridge seen in flight, or of one so
    // fast it was delivered before any read (the recent outcomes without a progress row).
    const recent = await db
      .select({ guid: bridgeReceive.guid })
      .from(bridgeReceive)
      .where(gt(bridgeReceive.orderKey, orderKeyAfter(now - RECENT_OUTCOMES_SECONDS * 1000)))
      .orderBy(desc(bridgeReceive.orderKey))
      .limit(200);
    const recentGuids = recent.map((r) => r.guid.toLowerCase());
    const withRow = recentGuids.length
      ? new Set(
          rowsOf(
            await tx.execute(
              sql`SELECT guid FROM offchain.bridge_progress WHERE guid IN (${sql.join(
                recentGuids.map((g) => sql`${g}`),
                sql`, `,
              )})`,
            ),
          ).map((r) => String(r.guid)),
        )
      : new Set<string>();
    const unfinished = [
      ...rowsOf(await tx.execute(sql`SELECT guid FROM offchain.bridge_progress WHERE NOT final LIMIT ${this.o.maxInFlight}`)).map((r) => String(r.guid)),
      ...recentGuids.filter((g) => !withRow.has(g)),
    ].filter((g, i, all) => !openGuids.has(g) && all.indexOf(g) === i);
    const settled = unfinished.length
      ? await db
          .select(columns)
          .from(bridgeSend)
          .leftJoin(bridgeReceive, eq(bridgeReceive.guid, bridgeSend.guid))
          .where(inArray(bridgeSend.guid, unfinished as Hex[]))
      : [];
    return [...open, ...settled]
      .filter((r) => r.message !== "0x" && r.dstChainId !== null)
      .map((r) => ({ ...r, guid: r.guid.toLowerCase() as Hex, dstChainId: r.dstChainId!, outcome: r.outcome ?? null }));
  }
}

/** What a tick reads the off-chain store through: the leader's transaction (Postgres) or the database (PGlite). */
type Reader = Pick<OffchainStore["db"], "execute">;
