/**
 * The job queue of a process: BullMQ when REDIS_URL is set, the in-process queue otherwise, with the
 * events workers registered. Workers start only when `config.jobs.runWorkers` (JOBS_WORKER ≠ 0).
 */
import { BullJobQueue } from "./bullmq.js";
import { DISTRIBUTE_NFTS, distributeNfts } from "./distributeNfts.js";
import { GENERATE_EVENT_REPORT, generateEventReport } from "./generateEventReport.js";
import { MemoryJobQueue } from "./memory.js";
import type { JobQueue, WorkerDeps } from "./types.js";

export { DISTRIBUTE_NFTS, GENERATE_EVENT_REPORT };
export type { JobQueue } from "./types.js";

export function createJobQueue(deps: WorkerDeps, options: { concurrency?: number } = {}): JobQueue {
  const { config, store, logger } = deps;
  const queue: JobQueue = config.redisUrl
    ? new BullJobQueue(store.db, logger, { redisUrl: config.redisUrl, prefix: config.redisPrefix, attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs, ...options })
    : new MemoryJobQueue(store.db, logger, { attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs, ...options });
  queue.register(DISTRIBUTE_NFTS, (data, ctx) => distributeNfts(deps, data, ctx));
  queue.register(GENERATE_EVENT_REPORT, (data, ctx) => generateEventReport(deps, data, ctx));
  return queue;
}

/** Creates the queue and starts its workers when this process runs them. */
export async function startJobQueue(deps: WorkerDeps): Promise<JobQueue> {
  const queue = createJobQueue(deps);
  if (deps.config.jobs.runWorkers) {
    await queue.start();
    deps.logger.info({ queue: queue.kind }, queue.kind === "memory" ? "jobs: in-process queue (no REDIS_URL), single process only" : "jobs: BullMQ workers on Redis");
  }
  return queue;
}
