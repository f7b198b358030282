/** Job rows in `offchain.jobs`: what GET /jobs/:id shows, written by whichever queue runs the job. */
import { randomUUID } from "node:crypto";
import { desc, eq, sql } from "drizzle-orm";
import type { OffchainDb } from "../offchain/store.js";
import { jobs } from "../offchain/tables/events.js";
import type { EnqueueRequest, JobContext, JobHandler, JobRow } from "./types.js";
import { PermanentJobError } from "./types.js";
import type { Logger } from "../infra/logger.js";
import { jobsFailed } from "../infra/metrics.js";

const ACTIVE = sql`status IN ('queued', 'running', 'retrying')`;

/** Inserts a queued job, or returns the active job holding the same dedupe key. */
export async function insertJob(db: OffchainDb, request: EnqueueRequest, maxAttempts: number): Promise<{ job: JobRow; created: boolean }> {
  for (let tries = 0; tries < 3; tries++) {
    const inserted = await db
      .insert(jobs)
      .values({
        id: randomUUID(),
        type: request.type,
        status: "queued",
        data: request.data,
        dedupeKey: request.dedupeKey ?? null,
        progress: request.progress ?? null,
        createdBy: request.createdBy,
        attempts: 0,
        maxAttempts,
      })
      .onConflictDoNothing({ target: jobs.dedupeKey, where: ACTIVE })
      .returning();
    if (inserted[0]) return { job: inserted[0], created: true };
    const [active] = await db.select().from(jobs).where(sql`${jobs.dedupeKey} = ${request.dedupeKey!} AND ${ACTIVE}`).limit(1);
    if (active) return { job: active, created: false };
    // The active job finished between our insert and select: try again.
  }
  throw new Error(`could not enqueue ${request.type}: dedupe key ${request.dedupeKey} keeps changing`);
}

export async function getJob(db: OffchainDb, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  return row;
}

/** The latest job holding `dedupeKey`, whatever its status (idempotent replays: the same key answers with the same job). */
export async function latestJobByKey(db: OffchainDb, dedupeKey: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.dedupeKey, dedupeKey)).orderBy(desc(jobs.createdAt)).limit(1);
  return row;
}

export async function activeJobs(db: OffchainDb): Promise<JobRow[]> {
  return await db.select().from(jobs).where(ACTIVE).orderBy(jobs.createdAt);
}

export async function markFailed(db: OffchainDb, id: string, error: string): Promise<void> {
  await db.update(jobs).set({ status: "failed", error, finishedAt: new Date(), updatedAt: new Date() }).where(eq(jobs.id, id));
}

const message = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);

/**
 * Runs one attempt of a job with its bookkeeping: running → completed, or retrying (attempts left)
 * / failed (none left, or a PermanentJobError) with the error visible. Rethrows failures so the
 * queue schedules the retry. Returns false when the row no longer exists.
 */
export async function runAttempt(
  db: OffchainDb,
  id: string,
  attempt: number,
  handler: JobHandler | undefined,
  options: { signal: AbortSignal; log: Logger },
): Promise<{ outcome: "completed" | "retry" | "failed" | "missing" }> {
  const [row] = await db
    .update(jobs)
    .set({ status: "running", attempts: attempt, startedAt: sql`coalesce(${jobs.startedAt}, now())`, updatedAt: new Date() })
    .where(eq(jobs.id, id))
    .returning();
  if (!row) return { outcome: "missing" };
  const log = options.log.child({ jobId: id, jobType: row.type, attempt });
  const ctx: JobContext = {
    jobId: id,
    attempt,
    maxAttempts: row.maxAttempts,
    signal: options.signal,
    log,
    progress: async (progress) => {
      await db.update(jobs).set({ progress, updatedAt: new Date() }).where(eq(jobs.id, id));
    },
  };
  try {
    if (!handler) throw new PermanentJobError(`no worker for job type ${row.type}`);
    const result = await handler(row.data, ctx);
    await db
      .update(jobs)
      .set({ status: "completed", result: result ?? null, error: null, finishedAt: new Date(), updatedAt: new Date() })
      .where(eq(jobs.id, id));
    log.info("job completed");
    return { outcome: "completed" };
  } catch (error) {
    const permanent = error instanceof PermanentJobError;
    const last = permanent || attempt >= row.maxAttempts;
    // An abort (shutdown) is not a failure: the job goes back to the queue as it was.
    if (options.signal.aborted && !permanent) {
      await db.update(jobs).set({ status: "queued", error: null, updatedAt: new Date() }).where(eq(jobs.id, id));
      throw error;
    }
    await db
      .update(jobs)
      .set({ status: last ? "failed" : "retrying", error: message(error), updatedAt: new Date(), ...(last ? { finishedAt: new Date() } : {}) })
      .where(eq(jobs.id, id));
    if (last) {
      jobsFailed.inc({ queue: row.type });
      log.error({ err: error }, "job failed");
    } else log.warn({ err: error }, "job attempt failed, will retry");
    return { outcome: last ? "failed" : "retry" };
  }
}

/** Exponential backoff: base, 2×base, 4×base… capped at 5 min. */
export function backoffDelay(baseMs: number, attempt: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 300_000);
}
