/** generate-event-report: a snapshot of the event report as the job's result (GET /jobs/:id). */
import { buildReport } from "../domain/events/report.js";
import { findEvent } from "../domain/events/store.js";
import { type JobContext, PermanentJobError, type WorkerDeps } from "./types.js";

import { GENERATE_EVENT_REPORT } from "./names.js";
export { GENERATE_EVENT_REPORT };

export async function generateEventReport(deps: WorkerDeps, data: Record<string, unknown>, ctx: JobContext) {
  const event = await findEvent(deps.store.db, String(data.eventId ?? ""));
  if (!event) throw new PermanentJobError(`event ${String(data.eventId)} not found`);
  const report = await buildReport(deps.store.db, event);
  await ctx.progress({ participants: report.participants.length });
  return report;
}
