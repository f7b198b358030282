/** Drizzle declarations of the `offchain` schema. The SQL migrations are the source of truth. */
import { bigserial, boolean, integer, jsonb, text, uuid } from "drizzle-orm/pg-core";
import { offchain, ts } from "./tables/pgSchema.js";

export { offchain };

export const users = offchain.table("users", {
  address: text("address").primaryKey(),
  roles: text("roles").array().notNull(),
  /** The admin role came from ADMIN_ADDRESSES (removed when the address leaves it), not from an API grant. */
  adminFromConfig: boolean("admin_from_config").notNull().default(false),
  preferences: jsonb("preferences").$type<Record<string, unknown>>().notNull(),
  firstSignInAt: ts("first_sign_in_at"),
  lastSignInAt: ts("last_sign_in_at"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const sessions = offchain.table("sessions", {
  id: uuid("id").primaryKey(),
  address: text("address").notNull(),
  chainId: integer("chain_id").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  lastUsedAt: ts("last_used_at").notNull().defaultNow(),
  expiresAt: ts("expires_at").notNull(),
  revokedAt: ts("revoked_at"),
  revokedReason: text("revoked_reason"),
  userAgent: text("user_agent"),
  ip: text("ip"),
});

export const refreshTokens = offchain.table("refresh_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  sessionId: uuid("session_id").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  expiresAt: ts("expires_at").notNull(),
  usedAt: ts("used_at"),
  replacedBy: text("replaced_by"),
});

export const apiKeys = offchain.table("api_keys", {
  id: uuid("id").primaryKey(),
  name: text("name").notNull(),
  prefix: text("prefix").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  roles: text("roles").array().notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  lastUsedAt: ts("last_used_at"),
  revokedAt: ts("revoked_at"),
});

export const auditLog = offchain.table("audit_log", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  at: ts("at").notNull().defaultNow(),
  actor: text("actor").notNull(),
  action: text("action").notNull(),
  subject: text("subject").notNull(),
  detail: jsonb("detail").$type<Record<string, unknown>>().notNull(),
});

export const schema = { users, sessions, refreshTokens, apiKeys, auditLog };

// ---------------------------------------------------------------- NFT and bridge services (0002_nfts.sql)
export * from "./tables/nfts.js";

// ---------------------------------------------------------------- Events service and jobs (0003_events.sql)
export * from "./tables/events.js";
