/**
 * BullMQ queue on Redis (REDIS_URL): every replica can enqueue, workers run in the API processes
 * (JOBS_WORKER, default on) and/or in `jobs/main.ts`. BullMQ owns scheduling, retries with
 * exponential backoff and stalled-job recovery (a worker killed mid-job loses its lock and another
 * worker takes the job over); our row in `offchain.jobs` mirrors the status for GET /jobs/:id.
 */
import { Queue, UnrecoverableError, Worker } from "bullmq";
import type { Logger } from "../infra/logger.js";
import type { OffchainDb } from "../offchain/store.js";
import { insertJob, markFailed, runAttempt } from "./store.js";
import type { EnqueueRequest, JobHandler, JobQueue } from "./types.js";

export const QUEUE_NAME = "jobs";

export class BullJobQueue implements JobQueue {
  readonly kind = "bullmq" as const;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly db: OffchainDb,
    private readonly log: Logger,
    private readonly options: {
      redisUrl: string;
      prefix: string;
      attempts: number;
      backoffMs: number;
      concurrency?: number;
      /** How long a worker's lock on a job lives without renewal (a dead worker's job is free after it). */
      lockDurationMs?: number;
      /** How often workers look for stalled jobs (BullMQ default 30 s). */
      stalledIntervalMs?: number;
      /** BullMQ queue name (default `jobs`; webhook deliveries have their own, jobs/index.ts). */
      name?: string;
    },
  ) {
    this.queue = new Queue(options.name ?? QUEUE_NAME, { connection: { url: options.redisUrl }, prefix: `${options.prefix}bull` });
    this.queue.on("error", (error) => this.log.warn({ err: error }, "job queue connection error"));
  }

  register(type: string, handler: JobHandler) {
    this.handlers.set(type, handler);
  }

  async enqueue(request: EnqueueRequest) {
    const attempts = request.attempts ?? this.options.attempts;
    const result = await insertJob(this.db, request, attempts);
    if (!result.created) return result;
    try {
      await this.queue.add(
        request.type,
        {},
        {
          jobId: result.job.id,
          attempts,
          backoff: { type: "exponential", delay: request.backoffMs ?? this.options.backoffMs },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      );
    } catch (error) {
      await markFailed(this.db, result.job.id, "could not be queued (Redis unavailable)");
      throw error;
    }
    return result;
  }

  async start() {
    if (this.worker) return;
    this.worker = new Worker(
      this.options.name ?? QUEUE_NAME,
      async (job) => {
        const { outcome } = await runAttempt(this.db, job.id!, job.attemptsMade + 1, this.handlers.get(job.name), { signal: this.abort.signal, log: this.log });
        if (outcome === "retry") throw new Error("attempt failed (see the job's error)");
        if (outcome === "failed") throw new UnrecoverableError("job failed (see the job's error)");
        // "missing": the row was deleted; nothing to do.
      },
      {
        connection: { url: this.options.redisUrl, maxRetriesPerRequest: null },
        prefix: `${this.options.prefix}bull`,
        concurrency: this.options.concurrency ?? 2,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      },
    );
    this.worker.on("error", (error) => this.log.warn({ err: error }, "job worker connection error"));
  }

  async close() {
    this.abort.abort();
    await Promise.allSettled([this.worker?.close(), this.queue.close()]);
  }
}
