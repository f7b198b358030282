/**
 * A worker-only process: `npx tsx jobs/main.ts` runs the job workers (BullMQ on REDIS_URL) with the
 * same environment as the API, without serving HTTP. Stops cleanly on SIGINT/SIGTERM; a killed
 * worker's job is taken over by another worker once its lock expires, and resumes idempotently.
 */
import { createDependencies } from "../app/deps.js";

const deps = await createDependencies({ ...process.env, JOBS_WORKER: "1" });
if (!deps.config.redisUrl) deps.logger.warn("no REDIS_URL: this worker only runs jobs queued by itself; run the API process instead");
const stop = async () => {
  await deps.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
