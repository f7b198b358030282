/**
 * The ERC-4906 follower: turns the index's `metadata_update` rows (MetadataUpdate and
 * BatchMetadataUpdate logs, recorded by the indexing handlers and nothing more) into
 * `refresh-metadata` jobs, which re-resolve the tokens, invalidate their cached views and push
 * `nft:metadata`. Indexing handlers stay pure: nothing here runs inside Ponder's indexing.
 *
 * Each tick (at most every `pollMs` under a stream of Ponder's commit notifications, after the
 * notifier's tick; every `pollMs` without them), in one
 * transaction holding a Postgres advisory lock — one follower at a time across replicas — per chain:
 * the rows of `(cursor − finality, indexed block]` not yet in `metadata_follow_seen` are new; rows
 * seen in that window that are gone (a reorg removed the log: the chain's tokenURI went back) are
 * re-resolved once more. Both are stored `pending` with the cursor; after the commit they are
 * grouped per deployment into one job per tick and marked queued. A crash in between queues them
 * again on the next tick (or two followers both queue them): a job may repeat, never be lost, and
 * re-resolving is harmless.
 *
 * First start on a chain (no cursor): starts at the indexed head; older announcements are not
 * replayed (POST /collections/{slug}/refresh re-reads a whole collection).
 */
import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import type { IndexedDb } from "../read/db.js";
import { indexedTables } from "../read/db.js";
import { readIndexerCheckpoints } from "../read/checkpoints.js";
import type { Logger } from "../infra/logger.js";
import { BACKGROUND_COMMIT_DELAY_MS, type TickLoop, startTickLoop } from "../infra/tickLoop.js";
import type { OffchainStore } from "../offchain/store.js";
import { REFRESH_METADATA } from "./names.js";
import type { RefreshMetadataData } from "./refreshMetadata.js";
import type { JobQueue } from "./types.js";

const { metadataUpdate } = indexedTables;

/** pg_try_advisory_xact_lock key of the follower (arbitrary constant, distinct from the notifier's). */
export const METADATA_FOLLOWER_LOCK_KEY = 7_202_611_250_019;

/** Who the follower's jobs belong to (GET /jobs/:id: admins). */
export const FOLLOWER_PRINCIPAL = "system:metadata-follower";

export type MetadataFollowerOptions = {
  indexed: IndexedDb;
  store: OffchainStore;
  jobs: Pick<JobQueue, "enqueue">;
  logger: Logger;
  /** Tick interval while no commit notification can wake the follower, and the delay of a commit's tick. Default 500. */
  pollMs?: number;
  /** Tick interval while commit notifications are live (a safety net). Default 5000. */
  idleTickMs?: number;
  /** Blocks a reorg can reach (Ponder: 30 on unknown chains). */
  finalityBlocks?: number;
  maxBlocksPerTick?: number;
  /** Called with the jobs a tick enqueued (tests, metrics). */
  onEnqueued?: (jobIds: string[]) => void;
};

type Row = Record<string, unknown>;
const rowsOf = (result: unknown): Row[] => (Array.isArray(result) ? result : ((result as { rows?: Row[] }).rows ?? [])) as Row[];
type UpdateRow = typeof metadataUpdate.$inferSelect;
const rowId = (r: Pick<UpdateRow, "chainId" | "blockNumber" | "logIndex" | "txHash">) => `${r.chainId}:${r.blockNumber}:${r.logIndex}:${r.txHash}`;

export type FollowTick = { leader: boolean; updates: number; reverted: number; jobs: string[] };

export class MetadataFollower {
  private loop: TickLoop | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly o: { pollMs: number; idleTickMs: number; finalityBlocks: number; maxBlocksPerTick: number };

  constructor(private readonly deps: MetadataFollowerOptions) {
    this.log = deps.logger.child({ component: "metadata-follower" });
    this.o = {
      pollMs: deps.pollMs ?? 500,
      idleTickMs: deps.idleTickMs ?? 5_000,
      finalityBlocks: deps.finalityBlocks ?? 30,
      maxBlocksPerTick: deps.maxBlocksPerTick ?? 2_000,
    };
  }

  start() {
    const commits = this.deps.indexed.commits;
    this.loop = startTickLoop({
      tick: () => this.tick(),
      intervalMs: () => (commits?.live ? this.o.idleTickMs : this.o.pollMs),
      onError: (error) => this.log.warn({ err: error }, "metadata follower tick failed (retrying)"),
    });
    // At most one tick per pollMs under a stream of commits, each after the notifier's (infra/tickLoop.ts):
    // a metadata refresh is not a push, and back-to-back blocks would otherwise each pay ~20 ms here.
    this.unsubscribe = commits?.subscribe(() => this.loop?.wakeIn(Math.max(BACKGROUND_COMMIT_DELAY_MS, this.o.pollMs)));
    return this;
  }

  wake() {
    this.loop?.wake();
  }

  async stop() {
    this.unsubscribe?.();
    await this.loop?.stop();
    this.loop = undefined;
  }

  async tick(): Promise<FollowTick> {
    const checkpoints = await readIndexerCheckpoints(this.deps.indexed);
    const found = await this.deps.store.db.transaction(async (tx) => {
      const lock = rowsOf(await tx.execute(sql`SELECT pg_try_advisory_xact_lock(${METADATA_FOLLOWER_LOCK_KEY}) AS ok`));
      if (!lock[0]?.ok) return undefined;
      const cursors = new Map(
        rowsOf(await tx.execute(sql`SELECT chain_id, block_number FROM offchain.metadata_follow_cursor`)).map((r) => [
          Number(r.chain_id),
          Number(r.block_number),
        ]),
      );
      for (const cp of checkpoints) {
        const cursor = cursors.get(cp.chainId);
        if (cursor === undefined) {
          await tx.execute(
            sql`INSERT INTO offchain.metadata_follow_cursor (chain_id, block_number) VALUES (${cp.chainId}, ${cp.block}) ON CONFLICT (chain_id) DO NOTHING`,
          );
          continue;
        }
        const hi = Math.max(cursor, Math.min(cp.block, cursor + this.o.maxBlocksPerTick));
        const lo = cursor - this.o.finalityBlocks;
        const rows = await this.deps.indexed.db
          .select()
          .from(metadataUpdate)
          .where(and(eq(metadataUpdate.chainId, cp.chainId), gt(metadataUpdate.blockNumber, BigInt(lo)), lte(metadataUpdate.blockNumber, BigInt(hi))))
          .orderBy(asc(metadataUpdate.blockNumber), asc(metadataUpdate.logIndex));
        const seen = new Map(
          rowsOf(
            await tx.execute(sql`SELECT id, block_number, vanished FROM offchain.metadata_follow_seen WHERE chain_id = ${cp.chainId} AND block_number > ${lo}`),
          ).map((r) => [String(r.id), r]),
        );
        const presentIds = new Set(rows.map(rowId));
        for (const row of rows) {
          const id = rowId(row);
          const known = seen.get(id);
          if (known && !known.vanished) continue;
          // New, or back after a reorg removed it: to be enqueued.
          await tx.execute(sql`INSERT INTO offchain.metadata_follow_seen (id, chain_id, block_number, collection, contract, from_token_id, to_token_id, pending, vanished)
            VALUES (${id}, ${cp.chainId}, ${Number(row.blockNumber)}, ${row.collection}, ${row.contract}, ${row.fromTokenId.toString()}::numeric, ${row.toTokenId.toString()}::numeric, true, false)
            ON CONFLICT (id) DO UPDATE SET pending = true, vanished = false`);
        }
        // Seen, now gone: a reorg dropped the announcement, and the tokenURI may have gone back
        // with it: its tokens are re-resolved once more (the row is forgotten once that is queued).
        for (const [id, known] of seen) {
          if (presentIds.has(id) || known.vanished || Number(known.block_number) > hi) continue;
          await tx.execute(sql`UPDATE offchain.metadata_follow_seen SET pending = true, vanished = true WHERE id = ${id}`);
        }
        await tx.execute(sql`UPDATE offchain.metadata_follow_cursor SET block_number = ${hi}, updated_at = now() WHERE chain_id = ${cp.chainId}`);
        await tx.execute(
          sql`DELETE FROM offchain.metadata_follow_seen WHERE chain_id = ${cp.chainId} AND block_number <= ${hi - this.o.finalityBlocks} AND NOT pending`,
        );
      }
      // Everything not queued yet, this tick's and any an earlier tick could not queue.
      return rowsOf(
        await tx.execute(sql`SELECT id, chain_id, collection, contract, from_token_id::text AS from_id, to_token_id::text AS to_id, vanished FROM offchain.metadata_follow_seen
          WHERE pending ORDER BY chain_id, block_number, id LIMIT 1000`),
      );
    });
    if (!found) return { leader: false, updates: 0, reverted: 0, jobs: [] };
    // Queued after the commit (a job queue on PGlite cannot write while this transaction holds its
    // only connection); a crash before `pending` is cleared queues them again on the next tick.
    const work = found.map((r): UpdateRow => {
      const [, block, logIndex, txHash] = String(r.id).split(":");
      return {
        chainId: Number(r.chain_id),
        blockNumber: BigInt(block!),
        logIndex: Number(logIndex),
        txHash: txHash as `0x${string}`,
        collection: String(r.collection),
        contract: String(r.contract) as `0x${string}`,
        fromTokenId: BigInt(String(r.from_id)),
        toTokenId: BigInt(String(r.to_id)),
        timestamp: 0n,
      };
    });
    const jobs = await this.enqueue(work);
    if (found.length) {
      const ids = sql.join(
        found.map((r) => sql`${String(r.id)}`),
        sql`, `,
      );
      await this.deps.store.db.execute(sql`UPDATE offchain.metadata_follow_seen SET pending = false WHERE id IN (${ids})`);
      await this.deps.store.db.execute(sql`DELETE FROM offchain.metadata_follow_seen WHERE id IN (${ids}) AND vanished`);
    }
    const reverted = found.filter((r) => r.vanished === true).length;
    const out = { leader: true, updates: found.length - reverted, reverted, jobs };
    if (jobs.length) {
      this.log.debug({ ...out }, "metadata updates enqueued");
      this.deps.onEnqueued?.(jobs);
    }
    return out;
  }

  /** One refresh-metadata job per deployment: MetadataUpdate ids, BatchMetadataUpdate ranges. */
  private async enqueue(rows: UpdateRow[]): Promise<string[]> {
    const groups = new Map<string, UpdateRow[]>();
    for (const r of rows) {
      const key = `${r.chainId}:${r.contract.toLowerCase()}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const ids: string[] = [];
    for (const group of groups.values()) {
      const first = group[0]!;
      const singles = group.filter((r) => r.fromTokenId === r.toTokenId).map((r) => r.fromTokenId.toString());
      const ranges = group.filter((r) => r.fromTokenId !== r.toTokenId).map((r) => [r.fromTokenId.toString(), r.toTokenId.toString()] as [string, string]);
      const cause = {
        kind: ranges.length ? ("BatchMetadataUpdate" as const) : ("MetadataUpdate" as const),
        chainId: first.chainId,
        blockNumber: first.blockNumber.toString(),
        logIndex: first.logIndex,
        txHash: first.txHash,
      };
      const data: RefreshMetadataData = {
        collection: first.collection,
        chainId: first.chainId,
        contract: first.contract,
        ...(singles.length ? { tokenIds: [...new Set(singles)] } : {}),
        ...(ranges.length ? { ranges } : {}),
        cause,
      };
      const { job } = await this.deps.jobs.enqueue({
        type: REFRESH_METADATA,
        data: data as Record<string, unknown>,
        createdBy: FOLLOWER_PRINCIPAL,
        dedupeKey: `${REFRESH_METADATA}:update:${rowId(first)}`,
      });
      ids.push(job.id);
    }
    return ids;
  }
}
