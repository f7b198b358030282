/** The `offchain` Postgres schema and its timestamp column type: one handle for every table file. */
import { pgSchema, timestamp } from "drizzle-orm/pg-core";

export const offchain = pgSchema("offchain");

/** `timestamptz`, read as a Date. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
