/**
 * Companion process of each API replica: `npm run realtime` (REALTIME_PORT, default 42080).
 * Reads the indexed tables from Postgres (DATABASE_URL, schema INDEXED_SCHEMA or DATABASE_SCHEMA),
 * fans out the `realtime` channel of Redis to its sockets, and runs the notifier (one tick at a
 * time across all companions). See docs/realtime.md.
 */
import { createDependencies } from "../app/deps.js";
import { startRealtime } from "./service.js";

// Job workers run in the API / jobs processes, not here (enqueue-only queue handle).
// The read pool on the index and the auth service are the composition root's (app/deps.ts): one each.
const deps = await createDependencies({ JOBS_WORKER: "0", ...process.env });
const service = await startRealtime({ ...deps, indexed: deps.indexed, trustProxy: deps.config.trustProxy });

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  void service
    .close()
    .then(() => deps.close())
    .finally(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
