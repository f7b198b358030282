/**
 * Session pruning (jobs/pruneSessions.ts) on Postgres and PGlite: sessions expired longer ago than
 * the retention are deleted with their refresh tokens, in batches; live, recently expired and
 * revoked-but-unexpired sessions stay; the periodic pruner runs at start and stops cleanly.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneExpiredSessions, startSessionPruner } from "../../jobs/pruneSessions.js";
import { createLogger } from "../../infra/logger.js";
import { refreshTokens, sessions, users } from "../../offchain/schema.js";
import { createOffchainStore, type OffchainStore } from "../../offchain/store.js";
import { createTestDatabase } from "../api/helpers.js";

const log = createLogger({ level: "silent" });
const DAY = 24 * 3600 * 1000;
const now = new Date("2026-11-26T12:00:00Z");
const address = "0x00000000000000000000000000000000000000A1";

async function seed(store: OffchainStore, expiresAt: Date[], revoked = false): Promise<string[]> {
  await store.db
    .insert(users)
    .values({ address, roles: ["user"], preferences: {} })
    .onConflictDoNothing();
  const ids = expiresAt.map(() => randomUUID());
  await store.db.insert(sessions).values(ids.map((id, i) => ({ id, address, chainId: 1, expiresAt: expiresAt[i]!, revokedAt: revoked ? now : null })));
  await store.db.insert(refreshTokens).values(ids.map((id, i) => ({ tokenHash: `hash-${id}`, sessionId: id, expiresAt: expiresAt[i]! })));
  return ids;
}

const remaining = async (store: OffchainStore) => ({
  sessions: (await store.db.select({ id: sessions.id }).from(sessions)).map((r) => r.id).sort(),
  tokens: (await store.db.select({ s: refreshTokens.sessionId }).from(refreshTokens)).length,
});

describe.each(["postgres", "pglite"] as const)("session pruning (%s)", (kind) => {
  let store: OffchainStore;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  beforeAll(async () => {
    if (kind === "postgres") {
      database = await createTestDatabase();
      store = createOffchainStore({ databaseUrl: database.url, poolSize: 4 });
    } else store = createOffchainStore({ memory: true });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it("deletes only sessions expired longer ago than the retention, with their refresh tokens, in batches", async () => {
    const old = await seed(
      store,
      Array.from({ length: 25 }, (_, i) => new Date(now.getTime() - 8 * DAY - i * 1000)),
    );
    const recent = await seed(store, [new Date(now.getTime() - 6 * DAY)]);
    const live = await seed(store, [new Date(now.getTime() + DAY)]);
    const revokedLive = await seed(store, [new Date(now.getTime() + DAY)], true);
    expect(old).toHaveLength(25);

    const deleted = await pruneExpiredSessions(store.db, { retentionSeconds: 7 * 24 * 3600, batchSize: 10, now });
    expect(deleted).toBe(25);
    const left = await remaining(store);
    expect(left.sessions).toEqual([...recent, ...live, ...revokedLive].sort());
    expect(left.tokens).toBe(3); // the old sessions' tokens went with them (ON DELETE CASCADE)

    // Idempotent: a second run (another replica) finds nothing.
    expect(await pruneExpiredSessions(store.db, { retentionSeconds: 7 * 24 * 3600, batchSize: 10, now })).toBe(0);
  });

  it("the periodic pruner prunes at start and stops cleanly", async () => {
    const expired = await seed(store, [new Date(Date.now() - 2000)]);
    const pruner = startSessionPruner(store.db, log, { retentionSeconds: 1, intervalMs: 60_000 });
    const deadline = Date.now() + 10_000;
    while ((await remaining(store)).sessions.includes(expired[0]!)) {
      if (Date.now() > deadline) throw new Error("the expired session was not pruned at start");
      await new Promise((r) => setTimeout(r, 50));
    }
    await pruner.stop();
  });
});
