/**
 * In-process job queue for the one-process dev mode (no REDIS_URL). Same contract as the BullMQ
 * queue: rows in `offchain.jobs`, retries with exponential backoff, visible failures. Jobs left
 * queued/running/retrying by a previous process (crash, kill) are picked up again at `start`,
 * which is safe because every handler is idempotent.
 */
import type { Logger } from "../infra/logger.js";
import type { OffchainDb } from "../offchain/store.js";
import { activeJobs, backoffDelay, insertJob, runAttempt } from "./store.js";
import type { EnqueueRequest, JobHandler, JobQueue } from "./types.js";

export class MemoryJobQueue implements JobQueue {
  readonly kind = "memory" as const;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly pending: { id: string; type: string; attempt: number; backoffMs?: number }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private started = false;
  private closed = false;

  constructor(
    private readonly db: OffchainDb,
    private readonly log: Logger,
    private readonly options: { attempts: number; backoffMs: number; concurrency?: number },
  ) {}

  register(type: string, handler: JobHandler) {
    this.handlers.set(type, handler);
  }

  async enqueue(request: EnqueueRequest) {
    const result = await insertJob(this.db, request, request.attempts ?? this.options.attempts);
    if (result.created && this.started) {
      this.pending.push({ id: result.job.id, type: request.type, attempt: 1, ...(request.backoffMs !== undefined ? { backoffMs: request.backoffMs } : {}) });
      this.pump();
    }
    return result;
  }

  async start() {
    if (this.started) return;
    this.started = true;
    // Only the types this queue runs (webhook deliveries have a queue of their own, jobs/index.ts).
    for (const row of await activeJobs(this.db))
      if (this.handlers.has(row.type)) this.pending.push({ id: row.id, type: row.type, attempt: Math.min(row.attempts + 1, row.maxAttempts) });
    this.pump();
  }

  private pump() {
    const concurrency = this.options.concurrency ?? 2;
    while (!this.closed && this.running.size < concurrency && this.pending.length > 0) {
      const next = this.pending.shift()!;
      const run = this.runOne(next).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async runOne(item: { id: string; type: string; attempt: number; backoffMs?: number }) {
    try {
      const { outcome } = await runAttempt(this.db, item.id, item.attempt, this.handlers.get(item.type), { signal: this.abort.signal, log: this.log });
      if (outcome === "retry" && !this.closed) {
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            this.pending.push({ ...item, attempt: item.attempt + 1 });
            this.pump();
          },
          backoffDelay(item.backoffMs ?? this.options.backoffMs, item.attempt),
        );
        this.timers.add(timer);
      }
    } catch (error) {
      // Aborted by close (the row is back to queued), or the database is gone: the next start resumes it.
      if (!this.closed) this.log.warn({ err: error, jobId: item.id }, "job attempt interrupted");
    }
  }

  async close() {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }
}
