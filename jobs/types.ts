/** The job abstraction shared by the BullMQ queue and the in-process fallback. */
import type { ServerSigners } from "../chain/serverSigners.js";
import type { IndexerSetup } from "../indexer/setup.js";
import type { IndexedDb } from "../read/db.js";
import type { BridgeSettings } from "../infra/config/bridge.js";
import type { NftSettings } from "../infra/config/nfts.js";
import type { Config } from "../infra/config/index.js";
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { OffchainStore } from "../offchain/store.js";
import type { jobs } from "../offchain/tables/events.js";
import { CosmicError } from "../infra/errors.js";

export type JobRow = typeof jobs.$inferSelect;

/** What workers may use (a subset of the API's dependencies, so `jobs/main.ts` can run them alone). */
export type WorkerDeps = {
  config: Config;
  store: OffchainStore;
  kv: KeyValueStore;
  logger: Logger;
  network?: IndexerSetup;
  signers?: ServerSigners;
  /** The indexed tables (NFT jobs: collection refresh, ERC-4906 follow-ups, mints' first serials). */
  indexed?: IndexedDb;
  /** NFT/metadata settings; defaults when absent. */
  nft?: NftSettings;
  /** Bridge settings; defaults when absent. */
  bridge?: BridgeSettings;
};

export type JobContext = {
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  /** Attempts the job has in all (the last one fails it for good). */
  maxAttempts?: number;
  /** Persists progress (shown by GET /jobs/:id). */
  progress(progress: Record<string, unknown>): Promise<void>;
  /** Aborted when the queue closes: stop between units of work, the job resumes later. */
  signal: AbortSignal;
  log: Logger;
};

export type JobHandler = (data: Record<string, unknown>, ctx: JobContext) => Promise<unknown>;

/** A failure that retrying cannot fix (missing event, chain not configured): the job fails at once. */
export class PermanentJobError extends CosmicError {
  override name = "PermanentJobError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("unprocessable", "JOB_CANNOT_SUCCEED", message, options);
  }
}

export type EnqueueRequest = {
  type: string;
  data: Record<string, unknown>;
  /** Checksummed address or `apiKey:<id>`: who may read the job. */
  createdBy: string;
  /** At most one queued/running/retrying job per key; enqueueing again returns that one. */
  dedupeKey?: string;
  /** Progress shown while the job is queued (GET /jobs/:id). */
  progress?: Record<string, unknown>;
  /** Attempts and first retry delay of this job (default: the queue's JOBS_ATTEMPTS / JOBS_BACKOFF_MS). */
  attempts?: number;
  backoffMs?: number;
};

export interface JobQueue {
  readonly kind: "bullmq" | "memory";
  enqueue(request: EnqueueRequest): Promise<{ job: JobRow; created: boolean }>;
  /** Declares the handler of a job type (before `start`). */
  register(type: string, handler: JobHandler): void;
  /** Starts processing in this process. */
  start(): Promise<void>;
  /** Stops taking jobs, aborts running ones (they resume later) and waits for them. */
  close(): Promise<void>;
}
