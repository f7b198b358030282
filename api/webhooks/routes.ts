/**
 * Webhook subscriptions (docs/webhooks.md): admins, and wallets or API keys with the `webhooks`
 * role, each managing their own (admins see all). A subscription has a URL (SSRF-checked: refused
 * → 422), event types (the push types; `reorg` is the retraction), filters and a confirmation
 * count; its secret is shown once, at creation and at rotation.
 */
import { randomUUID } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gte, sql } from "drizzle-orm";
import type { Context } from "hono";
import { getAddress } from "viem";
import { webhookDeliveries, webhookEvents, webhookSubscriptions } from "../../offchain/tables/webhooks.js";
import { PUSH_TYPES } from "../../realtime/protocol.js";
import { eventPayload } from "../../webhooks/outbox.js";
import { wakeWebhookDispatchers } from "../../webhooks/wake.js";
import { matches } from "../../webhooks/match.js";
import { newSecret } from "../../webhooks/signing.js";
import { checkWebhookUrl } from "../../webhooks/urlGuard.js";
import { AddressSchema } from "../auth/routes.js";
import type { AppEnv } from "../http/context.js";
import { notFound, unprocessable } from "../http/errors.js";
import { requireRole } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { principalId } from "../jobs/routes.js";

export const WEBHOOK_EVENT_TYPES = [...PUSH_TYPES] as [string, ...string[]];

const FiltersSchema = z
  .object({
    collections: z
      .array(z.string().regex(/^[\w.-]{1,64}$/))
      .max(50)
      .optional(),
    addresses: z.array(AddressSchema).max(100).optional(),
    chainIds: z.array(z.number().int().positive().max(2_147_483_647)).max(50).optional(),
  })
  .strict()
  .openapi("WebhookFilters", { description: "Every list given must match (an event matches a list when any entry does); absent = any" });

const CreateBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .openapi({ example: "https://example.com/hooks/cosmic" }),
    eventTypes: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length),
    filters: FiltersSchema.default({}),
    minConfirmations: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(0)
      .openapi({ description: "deliver a chain event only once its chain is indexed this many blocks past it" }),
    description: z.string().max(500).optional(),
  })
  .strict()
  .openapi("CreateWebhookRequest");

const WebhookSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    filters: FiltersSchema,
    minConfirmations: z.number().int(),
    description: z.string().nullable(),
    secretRotatedUntil: z.string().nullable().openapi({ description: "while set, deliveries carry a second signature with the previous secret" }),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi("Webhook");

const DeliverySchema = z
  .object({
    id: z.uuid(),
    pushId: z.string().openapi({ description: "the idempotency id (Webhook-Id header)" }),
    type: z.string(),
    status: z.enum(["waiting", "pending", "queued", "delivering", "retrying", "delivered", "dead", "cancelled"]),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    attemptLog: z.array(z.object({ at: z.string(), status: z.number().int().nullable(), error: z.string().nullable(), ms: z.number() })),
    replay: z.boolean(),
    payload: z.record(z.string(), z.unknown()),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("WebhookDelivery");

const IdParams = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });
const security = [BEARER, API_KEY];
const tags = ["webhooks"];

type SubRow = typeof webhookSubscriptions.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

const view = (s: SubRow): z.infer<typeof WebhookSchema> => ({
  id: s.id,
  url: s.url,
  eventTypes: s.eventTypes,
  filters: s.filters,
  minConfirmations: s.minConfirmations,
  description: s.description,
  secretRotatedUntil: s.previousSecretExpiresAt && s.previousSecretExpiresAt.getTime() > Date.now() ? s.previousSecretExpiresAt.toISOString() : null,
  createdBy: s.createdBy,
  createdAt: s.createdAt.toISOString(),
});

const deliveryView = (d: DeliveryRow): z.infer<typeof DeliverySchema> => ({
  id: d.id,
  pushId: d.pushId,
  type: d.type,
  status: d.status as z.infer<typeof DeliverySchema>["status"],
  attempts: d.attempts,
  maxAttempts: d.maxAttempts,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  attemptLog: d.attemptLog,
  replay: d.replay,
  payload: d.payload,
  nextAttemptAt: ["delivered", "dead", "cancelled", "waiting"].includes(d.status) ? null : d.nextAttemptAt.toISOString(),
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
  createdAt: d.createdAt.toISOString(),
});

/** The caller's subscription (admins: any); someone else's is a 404 (ids are not to be probed). */
async function ownSubscription(c: Context<AppEnv>, id: string): Promise<SubRow> {
  const principal = c.get("principal");
  const [sub] = await c.get("deps").store.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
  if (!sub || (sub.createdBy !== principalId(principal) && !principal.roles.includes("admin"))) throw notFound("WEBHOOK_NOT_FOUND", "no such webhook");
  return sub;
}

const createRoute_ = createRoute({
  method: "post",
  path: "/webhooks",
  tags,
  summary: "Subscribe a URL to push events; the signing secret is shown only in this response",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: { body: jsonBody(CreateBody) },
  responses: {
    201: jsonContent(WebhookSchema.extend({ secret: z.string() }).openapi("CreatedWebhook"), "Created; store the secret now"),
    ...errorResponses(400, 401, 403, 422, 503),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/webhooks",
  tags,
  summary: "The caller's webhook subscriptions (admins: all)",
  security,
  middleware: [requireRole("webhooks")] as const,
  responses: { 200: jsonContent(z.object({ items: z.array(WebhookSchema) }), "Subscriptions"), ...errorResponses(401, 403, 503) },
});

const getRoute = createRoute({
  method: "get",
  path: "/webhooks/{id}",
  tags,
  summary: "One subscription",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(WebhookSchema, "The subscription"), ...errorResponses(400, 401, 403, 404, 503) },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/webhooks/{id}",
  tags,
  summary: "Unsubscribe (pending deliveries are dropped)",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404, 503) },
});

const testRoute = createRoute({
  method: "post",
  path: "/webhooks/{id}/test",
  tags,
  summary: "Send a `webhook:test` event now (signed and retried like any delivery)",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: { params: IdParams },
  responses: { 202: jsonContent(DeliverySchema, "Queued"), ...errorResponses(400, 401, 403, 404, 503) },
});

const replayRoute = createRoute({
  method: "post",
  path: "/webhooks/{id}/replay",
  tags,
  summary: "Deliver again every matching event from a push id (inclusive) or a time on (events are kept WEBHOOK_EVENT_RETENTION_SECONDS)",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: {
    params: IdParams,
    query: z.object({
      from: z.string().min(1).max(300).openapi({ description: "a push id (Webhook-Id), or an ISO date-time", example: "2026-12-01T18:00:00Z" }),
    }),
  },
  responses: {
    202: jsonContent(z.object({ replayed: z.number().int(), fromSeq: z.number().int(), truncated: z.boolean() }).openapi("WebhookReplay"), "Deliveries queued"),
    ...errorResponses(400, 401, 403, 404, 422, 503),
  },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/webhooks/{id}/rotate-secret",
  tags,
  summary: "New signing secret (shown only here); the previous one keeps signing too for WEBHOOK_SECRET_OVERLAP_SECONDS",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: { params: IdParams },
  responses: {
    200: jsonContent(
      z.object({ secret: z.string(), previousSecretExpiresAt: z.string() }).openapi("RotatedWebhookSecret"),
      "Rotated; store the new secret now",
    ),
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/webhooks/{id}/deliveries",
  tags,
  summary: "The delivery log, newest first: status, attempts, last answer; dead-lettered ones have status `dead`",
  security,
  middleware: [requireRole("webhooks")] as const,
  request: {
    params: IdParams,
    query: z.object({
      status: DeliverySchema.shape.status.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: jsonContent(z.object({ items: z.array(DeliverySchema) }), "Deliveries"), ...errorResponses(400, 401, 403, 404, 503) },
});

const REPLAY_MAX_EVENTS = 10_000;

export function createWebhookRoutes() {
  const app = createRouter();

  app.openapi(createRoute_, async (c) => {
    const body = c.req.valid("json");
    const { config, store } = c.get("deps");
    const verdict = await checkWebhookUrl(body.url, config.webhooks.allowHosts);
    if (!verdict.ok) throw unprocessable(verdict.code, verdict.message);
    const secret = newSecret();
    const filters = { ...body.filters, ...(body.filters.addresses ? { addresses: body.filters.addresses.map((a) => getAddress(a)) } : {}) };
    const [row] = await store.db
      .insert(webhookSubscriptions)
      .values({
        id: randomUUID(),
        url: verdict.url,
        eventTypes: [...new Set(body.eventTypes)],
        filters,
        minConfirmations: body.minConfirmations,
        secret,
        description: body.description ?? null,
        createdBy: principalId(c.get("principal")),
      })
      .returning();
    return c.json({ ...view(row!), secret }, 201);
  });

  app.openapi(listRoute, async (c) => {
    const principal = c.get("principal");
    const { db } = c.get("deps").store;
    const rows = principal.roles.includes("admin")
      ? await db.select().from(webhookSubscriptions).orderBy(asc(webhookSubscriptions.createdAt))
      : await db
          .select()
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.createdBy, principalId(principal)))
          .orderBy(asc(webhookSubscriptions.createdAt));
    return c.json({ items: rows.map(view) }, 200);
  });

  app.openapi(getRoute, async (c) => c.json(view(await ownSubscription(c, c.req.valid("param").id)), 200));

  app.openapi(deleteRoute, async (c) => {
    const sub = await ownSubscription(c, c.req.valid("param").id);
    await c.get("deps").store.db.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, sub.id));
    return c.body(null, 204);
  });

  app.openapi(testRoute, async (c) => {
    const sub = await ownSubscription(c, c.req.valid("param").id);
    const pushId = `test:${randomUUID()}`;
    const payload = eventPayload(pushId, "webhook:test", { subscriptionId: sub.id }, new Date());
    const [row] = await c
      .get("deps")
      .store.db.insert(webhookDeliveries)
      .values({
        id: randomUUID(),
        subscriptionId: sub.id,
        pushId,
        type: "webhook:test",
        payload,
        status: "pending",
        attempts: 0,
        maxAttempts: c.get("deps").config.webhooks.maxAttempts,
        enqueues: 0,
        nextAttemptAt: new Date(),
        attemptLog: [],
        replay: false,
      })
      .returning();
    wakeWebhookDispatchers(c.get("deps").kv);
    return c.json(deliveryView(row!), 202);
  });

  app.openapi(replayRoute, async (c) => {
    const sub = await ownSubscription(c, c.req.valid("param").id);
    const { from } = c.req.valid("query");
    const { db } = c.get("deps").store;
    let fromSeq: number | undefined;
    const [byId] = await db.select({ seq: webhookEvents.seq }).from(webhookEvents).where(eq(webhookEvents.pushId, from));
    if (byId) fromSeq = byId.seq;
    else if (!Number.isNaN(Date.parse(from)) && /^\d{4}-\d{2}-\d{2}/.test(from)) {
      const [first] = await db
        .select({ seq: webhookEvents.seq })
        .from(webhookEvents)
        .where(gte(webhookEvents.createdAt, new Date(from)))
        .orderBy(asc(webhookEvents.seq))
        .limit(1);
      fromSeq = first?.seq ?? Number.MAX_SAFE_INTEGER;
    } else throw unprocessable("UNKNOWN_EVENT", "from is neither a retained push id nor an ISO date-time");
    const maxAttempts = c.get("deps").config.webhooks.maxAttempts;
    let replayed = 0;
    let scanned = 0;
    let cursor = fromSeq;
    for (;;) {
      const events = await db.select().from(webhookEvents).where(gte(webhookEvents.seq, cursor)).orderBy(asc(webhookEvents.seq)).limit(500);
      const rows = events
        .filter((e) => matches(sub, e.type, e.data))
        .map((e) => ({
          id: randomUUID(),
          subscriptionId: sub.id,
          eventSeq: e.seq,
          pushId: e.pushId,
          type: e.type,
          payload: eventPayload(e.pushId, e.type, e.data, e.createdAt),
          status: "pending",
          attempts: 0,
          maxAttempts,
          enqueues: 0,
          nextAttemptAt: new Date(),
          attemptLog: [],
          replay: true,
        }));
      if (rows.length) {
        await db.insert(webhookDeliveries).values(rows);
        wakeWebhookDispatchers(c.get("deps").kv);
      }
      replayed += rows.length;
      scanned += events.length;
      if (events.length < 500 || scanned >= REPLAY_MAX_EVENTS) return c.json({ replayed, fromSeq, truncated: events.length === 500 }, 202);
      cursor = events.at(-1)!.seq + 1;
    }
  });

  app.openapi(rotateRoute, async (c) => {
    const sub = await ownSubscription(c, c.req.valid("param").id);
    const secret = newSecret();
    const until = new Date(Date.now() + c.get("deps").config.webhooks.secretOverlapSeconds * 1000);
    await c
      .get("deps")
      .store.db.update(webhookSubscriptions)
      .set({ secret, previousSecret: sub.secret, previousSecretExpiresAt: until, updatedAt: new Date() })
      .where(eq(webhookSubscriptions.id, sub.id));
    return c.json({ secret, previousSecretExpiresAt: until.toISOString() }, 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const sub = await ownSubscription(c, c.req.valid("param").id);
    const { status, limit } = c.req.valid("query");
    const where = status
      ? and(eq(webhookDeliveries.subscriptionId, sub.id), eq(webhookDeliveries.status, status))
      : eq(webhookDeliveries.subscriptionId, sub.id);
    const rows = await c
      .get("deps")
      .store.db.select()
      .from(webhookDeliveries)
      .where(where)
      .orderBy(desc(webhookDeliveries.createdAt), desc(sql`${webhookDeliveries.eventSeq}`))
      .limit(limit);
    return c.json({ items: rows.map(deliveryView) }, 200);
  });

  return app;
}
