/** Drizzle declarations of the events and jobs tables (migration 0003_events.sql is the source of truth). */
import { integer, jsonb, numeric, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { offchain, ts } from "./pgSchema.js";

export const events = offchain.table("events", {
  id: uuid("id").primaryKey(),
  organizer: text("organizer").notNull(),
  name: text("name").notNull(),
  description: text("description").notNull(),
  location: text("location").notNull(),
  startsAt: ts("starts_at").notNull(),
  endsAt: ts("ends_at").notNull(),
  registrationOpensAt: ts("registration_opens_at").notNull(),
  registrationClosesAt: ts("registration_closes_at").notNull(),
  capacity: integer("capacity").notNull(),
  registered: integer("registered").notNull(),
  collection: text("collection").notNull(),
  chainId: integer("chain_id").notNull(),
  contract: text("contract").notNull(),
  eid: integer("eid").notNull(),
  status: text("status").$type<"active" | "cancelled">().notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export type DistributionStatus = "none" | "sending" | "minted" | "failed";

export const eventParticipants = offchain.table(
  "event_participants",
  {
    eventId: uuid("event_id").notNull(),
    address: text("address").notNull(),
    ticketId: uuid("ticket_id").notNull(),
    registeredAt: ts("registered_at").notNull().defaultNow(),
    attendedAt: ts("attended_at"),
    verifiedBy: text("verified_by"),
    distributionStatus: text("distribution_status").$type<DistributionStatus>().notNull(),
    /** uint256 as numeric(78,0): a decimal string. */
    tokenId: numeric("token_id", { precision: 78, scale: 0 }),
    txHash: text("tx_hash"),
    mintedAt: ts("minted_at"),
    distributionError: text("distribution_error"),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.address] })],
);

export type JobStatus = "queued" | "running" | "retrying" | "completed" | "failed";

export const jobs = offchain.table("jobs", {
  id: uuid("id").primaryKey(),
  type: text("type").notNull(),
  status: text("status").$type<JobStatus>().notNull(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  dedupeKey: text("dedupe_key"),
  createdBy: text("created_by").notNull(),
  attempts: integer("attempts").notNull(),
  maxAttempts: integer("max_attempts").notNull(),
  progress: jsonb("progress").$type<Record<string, unknown>>(),
  result: jsonb("result").$type<unknown>(),
  error: text("error"),
  createdAt: ts("created_at").notNull().defaultNow(),
  startedAt: ts("started_at"),
  finishedAt: ts("finished_at"),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});
