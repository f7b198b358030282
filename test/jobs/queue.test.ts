/**
 * The job queue in both modes (BullMQ on real Redis with its own prefix, and the in-process fallback):
 * retries with backoff until success, visible final failures, permanent failures, progress, one
 * active job per dedupe key, and (in-process) jobs left behind by a dead process resumed at start.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullJobQueue } from "../../jobs/bullmq.js";
import { MemoryJobQueue } from "../../jobs/memory.js";
import { getJob } from "../../jobs/store.js";
import { type JobQueue, type JobRow, PermanentJobError } from "../../jobs/types.js";
import { createLogger } from "../../infra/logger.js";
import { jobsFailed } from "../../infra/metrics.js";
import { createOffchainStore, type OffchainStore } from "../../offchain/store.js";
import { createTestDatabase, REDIS_URL } from "../api/helpers.js";

const log = createLogger({ level: "silent" });
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: OffchainStore;
const prefix = `test:jobs:${randomBytes(4).toString("hex")}:`;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createOffchainStore({ databaseUrl: db.url, poolSize: 4 });
  await store.migrate();
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

async function until(id: string, statuses: JobRow["status"][], timeoutMs = 15_000): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(store.db, id);
    if (job && statuses.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job?.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const makeQueue = (kind: "bullmq" | "memory", attempts = 3): JobQueue =>
  kind === "bullmq"
    ? new BullJobQueue(store.db, log, { redisUrl: REDIS_URL, prefix, attempts, backoffMs: 50 })
    : new MemoryJobQueue(store.db, log, { attempts, backoffMs: 50 });

describe.each(["bullmq", "memory"] as const)("%s job queue", (kind) => {
  let queue: JobQueue;
  const calls = new Map<string, number[]>();

  beforeAll(async () => {
    queue = makeQueue(kind);
    queue.register("flaky", async (data, ctx) => {
      const times = [...(calls.get(String(data.key)) ?? []), Date.now()];
      calls.set(String(data.key), times);
      await ctx.progress({ attempt: ctx.attempt });
      if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
      return { ok: true, attempt: ctx.attempt };
    });
    queue.register("broken", async () => {
      throw new Error("always broken");
    });
    queue.register("permanent", async () => {
      throw new PermanentJobError("event not found");
    });
    queue.register("slow", async () => {
      await new Promise((r) => setTimeout(r, 400));
      return "done";
    });
    await queue.start();
  });
  afterAll(async () => {
    await queue?.close();
  });

  it("retries with exponential backoff until success; progress and attempts are visible", async () => {
    const key = `${kind}-flaky`;
    const { job, created } = await queue.enqueue({ type: "flaky", data: { key }, createdBy: "tester" });
    expect(created).toBe(true);
    expect(job.status).toBe("queued");
    const done = await until(job.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "completed", attempts: 3, maxAttempts: 3, error: null, result: { ok: true, attempt: 3 }, progress: { attempt: 3 } });
    const times = calls.get(key)!;
    expect(times).toHaveLength(3);
    // 50 ms then 100 ms between attempts (at least).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(45);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(95);
  });

  it("marks a job failed with its error after the last attempt", async () => {
    const failedBefore = (await jobsFailed.get()).values.find((v) => v.labels.queue === "broken")?.value ?? 0;
    const { job } = await queue.enqueue({ type: "broken", data: {}, createdBy: "tester" });
    const retrying = await until(job.id, ["retrying", "failed"]);
    expect(retrying.error).toContain("always broken");
    const failed = await until(job.id, ["failed"]);
    expect(failed).toMatchObject({ status: "failed", attempts: 3 });
    expect(failed.error).toBe("Error: always broken");
    expect(failed.finishedAt).toBeInstanceOf(Date);
    expect((await jobsFailed.get()).values.find((v) => v.labels.queue === "broken")?.value).toBe(failedBefore + 1);
  });

  it("does not retry a permanent failure", async () => {
    const { job } = await queue.enqueue({ type: "permanent", data: {}, createdBy: "tester" });
    const failed = await until(job.id, ["failed"]);
    expect(failed).toMatchObject({ attempts: 1, error: "PermanentJobError: event not found" });
  });

  it("keeps one active job per dedupe key", async () => {
    const dedupeKey = `${kind}-slow`;
    const [a, b] = await Promise.all([1, 2].map(() => queue.enqueue({ type: "slow", data: {}, createdBy: "tester", dedupeKey })));
    expect(a!.job.id).toBe(b!.job.id);
    expect([a!.created, b!.created].sort()).toEqual([false, true]);
    await until(a!.job.id, ["completed"]);
    const again = await queue.enqueue({ type: "slow", data: {}, createdBy: "tester", dedupeKey });
    expect(again.created).toBe(true);
    expect(again.job.id).not.toBe(a!.job.id);
    await until(again.job.id, ["completed"]);
  });
});

describe("in-process queue after a crash", () => {
  it("resumes jobs a dead process left queued or running", async () => {
    const first = makeQueue("memory");
    // Enqueued by a process that never ran it (or died before): no worker started.
    const { job } = await first.enqueue({ type: "resumable", data: { n: 1 }, createdBy: "tester" });
    await first.close();
    const second = makeQueue("memory");
    second.register("resumable", async (data) => ({ resumed: data.n }));
    await second.start();
    try {
      expect(await until(job.id, ["completed"])).toMatchObject({ result: { resumed: 1 }, attempts: 1 });
    } finally {
      await second.close();
    }
  });
});
