/**
 * The dispatcher sleeps while nothing is due and is woken by new deliveries (webhooks/wake.ts on
 * Redis pub/sub), instead of sweeping every WEBHOOK_SWEEP_MS: a delivery written without a wake waits
 * for its safety sweep; the same delivery with a wake is handed to the job queue at once; one that
 * falls due later (a retry released to `pending` in the future) is swept at its time without a wake.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../domain/auth/service.js";
import { buildApp } from "../../api/app.js";
import { createWebhookQueue } from "../../jobs/index.js";
import type { JobQueue } from "../../jobs/types.js";
import { type WebhookDispatcher, startWebhookDispatcher } from "../../webhooks/dispatcher.js";
import { recordWebhookEvents } from "../../webhooks/outbox.js";
import { wakeWebhookDispatchers } from "../../webhooks/wake.js";
import { createTestApp, type TestApp } from "../api/helpers.js";

let t: TestApp;
let queue: JobQueue;
let dispatcher: WebhookDispatcher;
let key: string;

beforeAll(async () => {
  // Port 9 (discard) on loopback: deliveries fail, which does not matter here; only the hand-over is watched.
  t = await createTestApp({ kv: "redis", env: { WEBHOOK_ALLOW_HOSTS: "127.0.0.1:9", WEBHOOK_SWEEP_MS: "50", WEBHOOK_IDLE_SWEEP_MS: "600000" } });
  queue = createWebhookQueue(t.deps);
  dispatcher = startWebhookDispatcher({ store: t.deps.store, queue, config: t.deps.config, logger: t.deps.logger, kv: t.deps.kv });
  key = (await new AuthService(t.deps).createApiKey("test", "integrator", ["webhooks"])).key;
  const res = await buildApp(t.deps).request("/webhooks", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ url: "http://127.0.0.1:9/hook", eventTypes: ["nft:minted"] }),
  });
  expect(res.status).toBe(201);
  await new Promise((r) => setTimeout(r, 300)); // the subscription to the wake channel is in place, the first sweeps ran
}, 60_000);

afterAll(async () => {
  await dispatcher?.stop();
  await queue?.close();
  await t?.close();
});

let serial = 0;
const record = async () => {
  serial++;
  const id = `nft:minted:wake-${serial}`;
  await recordWebhookEvents(t.deps.store.db, [{ type: "nft:minted", id, rooms: ["collection:cosmic"], data: { tokenId: String(serial) } }], { maxAttempts: 1 });
  return id;
};
const statusOf = async (pushId: string) => {
  const result = (await t.deps.store.db.execute(sql`SELECT status, enqueues FROM offchain.webhook_deliveries WHERE push_id = ${pushId}`)) as unknown as {
    rows: { status: string; enqueues: number }[];
  };
  return result.rows[0];
};
async function handedOver(pushId: string, timeoutMs: number): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (Number((await statusOf(pushId))?.enqueues ?? 0) > 0) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

describe("webhook dispatcher wake", () => {
  it("a delivery written without a wake waits; a wake hands it over at once", async () => {
    const pushId = await record();
    expect(await handedOver(pushId, 800)).toBeUndefined();
    expect((await statusOf(pushId))?.status).toBe("pending");
    wakeWebhookDispatchers(t.deps.kv);
    const ms = await handedOver(pushId, 3_000);
    expect(ms).toBeDefined();
    expect(ms!).toBeLessThan(3_000);
  });

  it("a delivery due later is swept when it falls due, without a wake", async () => {
    const pushId = await record();
    await t.deps.store.db.execute(sql`UPDATE offchain.webhook_deliveries SET next_attempt_at = now() + interval '1 second' WHERE push_id = ${pushId}`);
    // The sweep woken now sees it due in 1 s and sleeps until then.
    wakeWebhookDispatchers(t.deps.kv);
    expect(await handedOver(pushId, 500)).toBeUndefined();
    expect(await handedOver(pushId, 4_000)).toBeDefined();
  });
});
