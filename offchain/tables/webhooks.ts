/** Drizzle declarations of the webhook tables (migration 0010_webhooks.sql is the source of truth). */
import { bigint, bigserial, boolean, integer, jsonb, text, uuid } from "drizzle-orm/pg-core";
import { offchain, ts } from "./pgSchema.js";

export const webhookSubscriptions = offchain.table("webhook_subscriptions", {
  id: uuid("id").primaryKey(),
  url: text("url").notNull(),
  eventTypes: text("event_types").array().notNull(),
  filters: jsonb("filters").$type<{ collections?: string[]; addresses?: string[]; chainIds?: number[] }>().notNull(),
  minConfirmations: integer("min_confirmations").notNull(),
  secret: text("secret").notNull(),
  previousSecret: text("previous_secret"),
  previousSecretExpiresAt: ts("previous_secret_expires_at"),
  description: text("description"),
  createdBy: text("created_by").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const webhookEvents = offchain.table("webhook_events", {
  seq: bigserial("seq", { mode: "number" }).primaryKey(),
  pushId: text("push_id").notNull(),
  type: text("type").notNull(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  chainId: integer("chain_id"),
  blockNumber: bigint("block_number", { mode: "number" }),
  createdAt: ts("created_at").notNull().defaultNow(),
});

export type AttemptLogEntry = { at: string; status: number | null; error: string | null; ms: number };

export const webhookDeliveries = offchain.table("webhook_deliveries", {
  id: uuid("id").primaryKey(),
  subscriptionId: uuid("subscription_id").notNull(),
  eventSeq: bigint("event_seq", { mode: "number" }),
  pushId: text("push_id").notNull(),
  type: text("type").notNull(),
  payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
  status: text("status").notNull(),
  chainId: integer("chain_id"),
  readyBlock: bigint("ready_block", { mode: "number" }),
  attempts: integer("attempts").notNull(),
  maxAttempts: integer("max_attempts").notNull(),
  enqueues: integer("enqueues").notNull(),
  jobId: uuid("job_id"),
  nextAttemptAt: ts("next_attempt_at").notNull(),
  lastStatus: integer("last_status"),
  lastError: text("last_error"),
  attemptLog: jsonb("attempt_log").$type<AttemptLogEntry[]>().notNull(),
  replay: boolean("replay").notNull(),
  deliveredAt: ts("delivered_at"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});
