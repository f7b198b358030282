/**
 * The job queue of a process: BullMQ when REDIS_URL is set, the in-process queue otherwise, with the
 * events workers registered. Workers start only when `config.jobs.runWorkers` (JOBS_WORKER ≠ 0).
 */
import { BullJobQueue } from "./bullmq.js";
import { DISTRIBUTE_NFTS, distributeNfts } from "./distributeNfts.js";
import { GENERATE_EVENT_REPORT, generateEventReport } from "./generateEventReport.js";
import { MemoryJobQueue } from "./memory.js";
import { MINT_NFTS, mintNfts } from "./mintNfts.js";
import { REFRESH_METADATA, refreshMetadata } from "./refreshMetadata.js";
import { MetadataFollower } from "./metadataFollower.js";
import { startSessionPruner } from "./pruneSessions.js";
import type { JobQueue, WorkerDeps } from "./types.js";
import { WEBHOOK_DELIVERY } from "./names.js";
import { deliverWebhook } from "../webhooks/deliver.js";
import { startWebhookDispatcher } from "../webhooks/dispatcher.js";

export { DISTRIBUTE_NFTS, GENERATE_EVENT_REPORT, MINT_NFTS, REFRESH_METADATA };
export type { JobQueue } from "./types.js";

export function createJobQueue(deps: WorkerDeps, options: { concurrency?: number } = {}): JobQueue {
  const { config, store, logger } = deps;
  const queue: JobQueue = config.redisUrl
    ? new BullJobQueue(store.db, logger, {
        redisUrl: config.redisUrl,
        prefix: config.redisPrefix,
        attempts: config.jobs.attempts,
        backoffMs: config.jobs.backoffMs,
        ...options,
      })
    : new MemoryJobQueue(store.db, logger, { attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs, ...options });
  queue.register(DISTRIBUTE_NFTS, (data, ctx) => distributeNfts(deps, data, ctx));
  queue.register(GENERATE_EVENT_REPORT, (data, ctx) => generateEventReport(deps, data, ctx));
  queue.register(MINT_NFTS, (data, ctx) => mintNfts(deps, data, ctx));
  queue.register(REFRESH_METADATA, (data, ctx) => refreshMetadata(deps, data, ctx));
  return queue;
}

/**
 * Webhook deliveries run on a queue of their own (same BullMQ / in-process machinery and `jobs`
 * rows, queue name `webhooks`) with WEBHOOK_CONCURRENCY slots: an attempt mostly waits on a
 * receiver (up to WEBHOOK_TIMEOUT_MS), so receivers that hang neither hold up other subscriptions'
 * deliveries nor the NFT distribution and report jobs.
 */
export function createWebhookQueue(deps: WorkerDeps): JobQueue {
  const { config, store, logger } = deps;
  const concurrency = config.webhooks.concurrency;
  const queue: JobQueue = config.redisUrl
    ? new BullJobQueue(store.db, logger, {
        redisUrl: config.redisUrl,
        prefix: config.redisPrefix,
        attempts: config.webhooks.maxAttempts,
        backoffMs: config.webhooks.backoffMs,
        concurrency,
        name: "webhooks",
      })
    : new MemoryJobQueue(store.db, logger, { attempts: config.webhooks.maxAttempts, backoffMs: config.webhooks.backoffMs, concurrency });
  queue.register(WEBHOOK_DELIVERY, (data, ctx) => deliverWebhook(deps, data, ctx));
  return queue;
}

/** How often worker processes delete long-expired sessions. */
const SESSION_PRUNE_INTERVAL_MS = 3600_000;

/**
 * Creates the queue and starts its workers when this process runs them; worker processes also run
 * the periodic maintenance (session pruning) and the webhook dispatcher, stopped by the queue's `close`.
 */
export async function startJobQueue(deps: WorkerDeps): Promise<JobQueue> {
  const queue = createJobQueue(deps);
  if (!deps.config.jobs.runWorkers) return queue;
  await queue.start();
  deps.logger.info(
    { queue: queue.kind },
    queue.kind === "memory" ? "jobs: in-process queue (no REDIS_URL), single process only" : "jobs: BullMQ workers on Redis",
  );
  const pruner = startSessionPruner(deps.store.db, deps.logger, {
    retentionSeconds: deps.config.auth.sessionRetentionSeconds,
    intervalMs: SESSION_PRUNE_INTERVAL_MS,
  });
  // ERC-4906 follow-ups where the workers run (one tick at a time across processes).
  const follower =
    deps.indexed && (deps.nft?.metadataFollow ?? true)
      ? new MetadataFollower({ indexed: deps.indexed, store: deps.store, jobs: queue, logger: deps.logger, pollMs: deps.nft?.metadataFollowPollMs }).start()
      : undefined;
  // Webhook deliveries (Postgres) handed to their queue (webhooks/dispatcher.ts).
  const webhooks = createWebhookQueue(deps);
  await webhooks.start();
  const dispatcher = startWebhookDispatcher({ store: deps.store, queue: webhooks, config: deps.config, logger: deps.logger, kv: deps.kv });
  const closeQueue = queue.close.bind(queue);
  queue.close = async () => {
    await follower?.stop();
    await dispatcher.stop();
    await webhooks.close();
    await pruner.stop();
    await closeQueue();
  };
  return queue;
}
