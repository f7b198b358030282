/** The activity feed of the index (mints, transfers, burns, bridge halves), in order key order. */
import { asc, gt } from "drizzle-orm";
import { type IndexedDatabase, indexedTables as t } from "./db.js";

export type ActivityRow = typeof t.activity.$inferSelect;

/** Up to `limit` rows after the order key `after` (from the start without one), oldest first. */
export async function listActivity(db: IndexedDatabase, options: { after?: string; limit: number }): Promise<ActivityRow[]> {
  return db
    .select()
    .from(t.activity)
    .where(options.after ? gt(t.activity.orderKey, options.after) : undefined)
    .orderBy(asc(t.activity.orderKey))
    .limit(options.limit);
}
