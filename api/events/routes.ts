/**
 * Events service routes (docs/events.md): events, registration with signed tickets and rotating QR
 * codes, check-in, NFT distribution jobs, reports.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, lt, lte, gte, or, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import { getAddress } from "viem";
import type { ServerSigners } from "../../chain/serverSigners.js";
import type { IndexerSetup } from "../../indexer/setup.js";
import type { JobQueue } from "../../jobs/types.js";
import { DISTRIBUTE_NFTS, GENERATE_EVENT_REPORT } from "../../jobs/names.js";
import { events } from "../../offchain/tables/events.js";
import type { AppEnv, Principal, RequestDeps } from "../http/context.js";
import type { Logger } from "../../infra/logger.js";
import { badRequest, conflict, dependencyDown, errorJson, forbidden, notFound, unprocessable } from "../http/errors.js";
import { requireAuth, requireRole, userPrincipal } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { jobView, principalId } from "../jobs/routes.js";
import { attendance, eventsCreated, registrations } from "../../infra/metrics.js";
import { publishParticipantFact } from "../../realtime/eventPushes.js";
import { buildReport, reportCsv } from "../../domain/events/report.js";
import {
  AttendanceSchema,
  CreateEventBody,
  EnqueuedSchema,
  EventIdParams,
  EventListSchema,
  EventSchema,
  ListEventsQuery,
  PatchEventBody,
  ReportQuery,
  TicketQuery,
  TicketSchema,
  VerifyBody,
} from "./schemas.js";
import { register, verifyAttendance } from "../../domain/events/service.js";
import { type EventRow, eventCounts, findEvent, findEventOfToken, findParticipant, type ParticipantRow, type EventCounts } from "../../domain/events/store.js";
import { qrPng, qrSvg, type TicketKeys } from "../../domain/events/tickets.js";

export type EventRoutesOptions = {
  tickets: TicketKeys;
  jobs?: JobQueue;
  /** Where attendance NFTs can be minted (collection deployments). */
  network?: IndexerSetup;
  /** The server's signers: distribution needs one on the event's chain. */
  signers?: ServerSigners;
};

export function eventView(e: EventRow, counts: EventCounts, now = Date.now()): z.infer<typeof EventSchema> {
  const phase = now < e.startsAt.getTime() ? "upcoming" : now <= e.endsAt.getTime() ? "ongoing" : "past";
  return {
    id: e.id,
    organizer: e.organizer,
    name: e.name,
    description: e.description,
    location: e.location,
    startsAt: e.startsAt.toISOString(),
    endsAt: e.endsAt.toISOString(),
    registrationOpensAt: e.registrationOpensAt.toISOString(),
    registrationClosesAt: e.registrationClosesAt.toISOString(),
    capacity: e.capacity,
    status: e.status,
    phase,
    registrationOpen: e.status === "active" && now >= e.registrationOpensAt.getTime() && now <= e.registrationClosesAt.getTime() && e.registered < e.capacity,
    nft: { collection: e.collection, chainId: e.chainId, contract: e.contract },
    counts: { ...counts, registered: e.registered },
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

async function loadEvent(c: Context<AppEnv>, id: string): Promise<EventRow> {
  const event = await findEvent(c.get("deps").store.db, id);
  if (!event) throw notFound("EVENT_NOT_FOUND", "no such event");
  return event;
}

const isAdmin = (p: Principal) => p.roles.includes("admin");

/** The event's organizer (their wallet session) or an admin. */
function requireEventOrganizer(c: Context<AppEnv>, event: EventRow): string {
  return eventOrganizerId(c.get("principal"), event);
}

/** Who acts as the event's organizer (GraphQL's organizer-only fields use it too); 403 for anyone else. */
export function eventOrganizerId(p: Principal, event: EventRow): string {
  if (isAdmin(p)) return principalId(p);
  if (p.kind === "user" && p.address === event.organizer) return p.address;
  throw forbidden("NOT_EVENT_ORGANIZER", "only this event's organizer (or an admin) may do this");
}

/** The event's organizer when it still holds the organizer (or admin) role: who may see the attendees' details. */
async function activeOrganizer(deps: RequestDeps, event: EventRow): Promise<string | undefined> {
  const user = await deps.auth.getUser(event.organizer as `0x${string}`);
  return user && (user.roles.includes("organizer") || user.roles.includes("admin")) ? event.organizer : undefined;
}

function checkTimes(t: { startsAt: Date; endsAt: Date; registrationOpensAt: Date; registrationClosesAt: Date }) {
  if (t.endsAt < t.startsAt) throw unprocessable("INVALID_EVENT_TIMES", "endsAt is before startsAt");
  if (t.registrationClosesAt < t.registrationOpensAt) throw unprocessable("INVALID_EVENT_TIMES", "registrationClosesAt is before registrationOpensAt");
  if (t.registrationClosesAt > t.endsAt) throw unprocessable("INVALID_EVENT_TIMES", "registration must close by the end of the event");
}

function ticketExpiry(event: EventRow) {
  return new Date(event.endsAt.getTime() + 30 * 86_400_000);
}

export async function ticketBody(tickets: TicketKeys, event: EventRow, p: ParticipantRow): Promise<z.infer<typeof TicketSchema>> {
  const qr = tickets.payload(event.id, p.ticketId);
  return {
    eventId: event.id,
    address: p.address,
    ticketId: p.ticketId,
    registeredAt: p.registeredAt.toISOString(),
    attendedAt: p.attendedAt?.toISOString() ?? null,
    ticket: await tickets.signTicket({ eventId: event.id, address: p.address as `0x${string}`, ticketId: p.ticketId }, ticketExpiry(event)),
    qr: { payload: qr.payload, svg: await qrSvg(qr.payload), expiresAt: qr.expiresAt.toISOString() },
  };
}

// Opaque keyset cursor: base64url of [startsAt, id] of the last item.
const encodeCursor = (e: EventRow) => Buffer.from(JSON.stringify([e.startsAt.toISOString(), e.id])).toString("base64url");
function decodeCursor(cursor: string): { startsAt: Date; id: string } {
  try {
    const [s, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const startsAt = new Date(s);
    if (Number.isNaN(startsAt.getTime()) || typeof id !== "string" || !/^[0-9a-f-]{36}$/.test(id)) throw new Error();
    return { startsAt, id };
  } catch {
    throw badRequest("INVALID_CURSOR", "cursor is not one this API returned");
  }
}

const tags = ["events"];
const idParams = { params: EventIdParams };

const createEventRoute = createRoute({
  method: "post",
  path: "/events",
  tags,
  summary: "Create an event (organizer or admin)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: { body: jsonBody(CreateEventBody) },
  responses: { 201: jsonContent(EventSchema, "Created"), ...errorResponses(400, 401, 403, 422, 503) },
});

const patchEventRoute = createRoute({
  method: "patch",
  path: "/events/{id}",
  tags,
  summary: "Update, cancel or reopen an event (its organizer, who must still hold the organizer role, or an admin)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: { ...idParams, body: jsonBody(PatchEventBody) },
  responses: { 200: jsonContent(EventSchema, "Updated"), ...errorResponses(400, 401, 403, 404, 409, 422, 503) },
});

const getEventRoute = createRoute({
  method: "get",
  path: "/events/{id}",
  tags,
  summary: "Event details with registered / attended / minted counts",
  request: idParams,
  responses: { 200: jsonContent(EventSchema, "The event"), ...errorResponses(400, 404, 503) },
});

const listEventsRoute = createRoute({
  method: "get",
  path: "/events",
  tags,
  summary: "Events by start time; filters: when=upcoming|ongoing|past (past: most recent first), organizer",
  request: { query: ListEventsQuery },
  responses: { 200: jsonContent(EventListSchema, "A page of events"), ...errorResponses(400, 503) },
});

const registerRoute = createRoute({
  method: "post",
  path: "/events/{id}/register",
  tags,
  summary: "Register the signed-in wallet (idempotent); returns the signed ticket and its current QR code",
  security: [BEARER],
  middleware: [requireAuth] as const,
  request: idParams,
  responses: {
    200: jsonContent(TicketSchema, "Already registered: the same ticket"),
    201: jsonContent(TicketSchema, "Registered"),
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

const ticketRoute = createRoute({
  method: "get",
  path: "/events/{id}/ticket",
  tags,
  summary: "The holder's current QR code (rotates every EVENTS_CODE_STEP_SECONDS); Bearer session or x-ticket: <signed ticket>",
  security: [BEARER, { ticket: [] }],
  request: { ...idParams, query: TicketQuery },
  responses: {
    200: {
      description: "QR code (PNG, SVG, or JSON with its payload); X-Ticket-Code-Expires-At tells when to refresh",
      content: {
        "image/png": { schema: z.string().openapi({ format: "binary" }) },
        "image/svg+xml": { schema: z.string() },
        "application/json": { schema: z.object({ payload: z.string(), step: z.number(), expiresAt: z.string() }) },
      },
    },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/events/{id}/verify",
  tags,
  summary: "Check a scanned code at the door and mark attendance once (this event's organizer or an admin)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: { ...idParams, body: jsonBody(VerifyBody) },
  responses: {
    ...errorResponses(400, 401, 403, 404, 422, 503),
    200: jsonContent(AttendanceSchema, "Checked in"),
    409: {
      description: "Already checked in (attendedAt = first scan), the event is cancelled, or check-in is not open (CHECK_IN_NOT_OPEN / CHECK_IN_CLOSED)",
      content: {
        "application/json": {
          schema: z.object({
            error: z.object({ code: z.string(), message: z.string(), attendedAt: z.string().optional(), verifiedBy: z.string().nullable().optional() }),
          }),
        },
      },
    },
  },
});

const distributeRoute = createRoute({
  method: "post",
  path: "/events/{id}/distribute",
  tags,
  summary: "Mint the event NFT to every attendee not yet served (background job; idempotent, resumable)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: idParams,
  responses: { 202: jsonContent(EnqueuedSchema, "Queued (or the job already running for this event)"), ...errorResponses(400, 401, 403, 404, 409, 503) },
});

const reportRoute = createRoute({
  method: "get",
  path: "/events/{id}/report",
  tags,
  summary: "Registrations, attendance rate, check-in times, distribution results with tx hashes (organizer or admin)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: { ...idParams, query: ReportQuery },
  responses: {
    200: { description: "The report", content: { "application/json": { schema: z.record(z.string(), z.unknown()) }, "text/csv": { schema: z.string() } } },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

const reportJobRoute = createRoute({
  method: "post",
  path: "/events/{id}/report",
  tags,
  summary: "Snapshot the report in a background job (generate-event-report); read it with GET /jobs/{id}",
  security: [BEARER, API_KEY],
  middleware: [requireRole("organizer")] as const,
  request: idParams,
  responses: { 202: jsonContent(EnqueuedSchema, "Queued"), ...errorResponses(400, 401, 403, 404, 503) },
});

const tokenEventRoute = createRoute({
  method: "get",
  path: "/events/tokens/{chainId}/{tokenId}",
  tags,
  summary: "The event an attendance NFT was distributed for (how minted tokens link back to events)",
  request: {
    params: z.object({
      chainId: z.coerce
        .number()
        .int()
        .positive()
        .max(2_147_483_647)
        .openapi({ param: { name: "chainId", in: "path" } }),
      tokenId: z
        .string()
        .regex(/^\d{1,78}$/)
        .openapi({ param: { name: "tokenId", in: "path" }, description: "decimal uint256" }),
    }),
  },
  responses: {
    200: jsonContent(
      z
        .object({ event: EventSchema, address: z.string(), tokenId: z.string(), txHash: z.string().nullable(), mintedAt: z.string().nullable() })
        .openapi("EventToken"),
      "The event and attendee",
    ),
    ...errorResponses(400, 404, 503),
  },
});

/**
 * POST /events/{id}/register (and GraphQL's registerForEvent): registers `address` (idempotent),
 * counts it, pushes `event:registered` after the commit, returns the signed ticket.
 */
export async function registerAttendee(deps: RequestDeps, log: Logger, tickets: TicketKeys, event: EventRow, address: `0x${string}`) {
  const { store, kv } = deps;
  const { participant, created } = await register(store.db, event, address);
  if (created) registrations.inc();
  if (created)
    await publishParticipantFact(
      kv,
      log,
      {
        type: "event:registered",
        eventId: event.id,
        ticketId: participant.ticketId,
        address,
        organizer: await activeOrganizer(deps, event),
        counts: { registered: (await findEvent(store.db, event.id))?.registered ?? null, capacity: event.capacity },
        details: { registeredAt: participant.registeredAt.toISOString() },
      },
      { store, maxAttempts: deps.config.webhooks.maxAttempts },
    );
  return { ticket: await ticketBody(tickets, event, participant), created };
}

export function createEventRoutes(options: EventRoutesOptions) {
  const { tickets } = options;
  const app = createRouter();
  const jobs = () => {
    if (!options.jobs) throw dependencyDown("JOBS_UNAVAILABLE", "background jobs are not configured in this process");
    return options.jobs;
  };

  app.openapi(createEventRoute, async (c) => {
    const body = c.req.valid("json");
    const principal = c.get("principal");
    const { store } = c.get("deps");
    const { network } = options;
    let organizer: `0x${string}`;
    if (body.organizer !== undefined) {
      if (!isAdmin(principal)) throw forbidden("MISSING_ROLE", "only admins create events on behalf of another organizer");
      organizer = getAddress(body.organizer);
    } else if (principal.kind === "user") organizer = principal.address;
    else throw badRequest("ORGANIZER_REQUIRED", "an API key must name the event's organizer");
    const deployment = network?.deployments.find((d) => d.slug === body.collection && d.chainId === body.chainId);
    if (!deployment) throw unprocessable("COLLECTION_NOT_ON_CHAIN", `collection ${body.collection} is not deployed on chain ${body.chainId}`);
    if (deployment.kind !== "onft")
      throw unprocessable("COLLECTION_NOT_MINTABLE", `collection ${body.collection} is an adapter on chain ${body.chainId}: it cannot mint there`);
    const now = new Date();
    const times = {
      startsAt: new Date(body.startsAt),
      endsAt: new Date(body.endsAt),
      registrationOpensAt: body.registrationOpensAt ? new Date(body.registrationOpensAt) : now,
      registrationClosesAt: body.registrationClosesAt ? new Date(body.registrationClosesAt) : new Date(body.endsAt),
    };
    checkTimes(times);
    const [row] = await store.db
      .insert(events)
      .values({
        id: crypto.randomUUID(),
        organizer,
        name: body.name,
        description: body.description,
        location: body.location,
        ...times,
        capacity: body.capacity,
        registered: 0,
        collection: body.collection,
        chainId: body.chainId,
        contract: getAddress(deployment.token),
        eid: deployment.eid,
        status: "active",
      })
      .returning();
    eventsCreated.inc();
    return c.json(eventView(row!, { registered: 0, attended: 0, minted: 0 }), 201);
  });

  app.openapi(patchEventRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const event = await loadEvent(c, id);
    requireEventOrganizer(c, event);
    const times = {
      startsAt: body.startsAt ? new Date(body.startsAt) : event.startsAt,
      endsAt: body.endsAt ? new Date(body.endsAt) : event.endsAt,
      registrationOpensAt: body.registrationOpensAt ? new Date(body.registrationOpensAt) : event.registrationOpensAt,
      registrationClosesAt: body.registrationClosesAt ? new Date(body.registrationClosesAt) : event.registrationClosesAt,
    };
    checkTimes(times);
    const db = c.get("deps").store.db;
    // The capacity check is in the UPDATE itself: a registration committing meanwhile cannot slip under it.
    const conditions: SQL[] = [eq(events.id, id)];
    if (body.capacity !== undefined) conditions.push(lte(events.registered, body.capacity));
    const [row] = await db
      .update(events)
      .set({ ...body, ...times, updatedAt: new Date() })
      .where(and(...conditions))
      .returning();
    if (!row) throw conflict("CAPACITY_BELOW_REGISTERED", "more people are registered than the new capacity");
    return c.json(eventView(row, (await eventCounts(db, [id])).get(id)!), 200);
  });

  app.openapi(getEventRoute, async (c) => {
    const event = await loadEvent(c, c.req.valid("param").id);
    return c.json(eventView(event, (await eventCounts(c.get("deps").store.db, [event.id])).get(event.id)!), 200);
  });

  app.openapi(listEventsRoute, async (c) => {
    const q = c.req.valid("query");
    const db = c.get("deps").store.db;
    const now = new Date();
    const descending = q.when === "past";
    const conditions: SQL[] = [];
    if (q.when === "upcoming") conditions.push(gt(events.startsAt, now));
    if (q.when === "ongoing") conditions.push(lte(events.startsAt, now), gte(events.endsAt, now));
    if (q.when === "past") conditions.push(lt(events.endsAt, now));
    if (q.organizer) conditions.push(eq(events.organizer, getAddress(q.organizer)));
    if (q.cursor) {
      const cur = decodeCursor(q.cursor);
      const after = descending ? lt : gt;
      conditions.push(or(after(events.startsAt, cur.startsAt), and(eq(events.startsAt, cur.startsAt), after(events.id, cur.id)))!);
    }
    const order = descending ? [desc(events.startsAt), desc(events.id)] : [asc(events.startsAt), asc(events.id)];
    const rows = await db
      .select()
      .from(events)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(...order)
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const counts = await eventCounts(
      db,
      page.map((e) => e.id),
    );
    return c.json(
      { items: page.map((e) => eventView(e, counts.get(e.id)!, now.getTime())), nextCursor: rows.length > q.limit ? encodeCursor(page.at(-1)!) : null },
      200,
    );
  });

  app.openapi(tokenEventRoute, async (c) => {
    const { chainId, tokenId } = c.req.valid("param");
    const db = c.get("deps").store.db;
    const link = await findEventOfToken(db, chainId, BigInt(tokenId));
    const participant = link && (await findParticipant(db, link.eventId, link.address));
    if (!link || participant?.distributionStatus !== "minted") throw notFound("TOKEN_NOT_FROM_EVENT", "no event distributed this token");
    const event = (await findEvent(db, link.eventId))!;
    return c.json(
      {
        event: eventView(event, (await eventCounts(db, [event.id])).get(event.id)!),
        address: participant.address,
        tokenId,
        txHash: participant.txHash,
        mintedAt: participant.mintedAt?.toISOString() ?? null,
      },
      200,
    );
  });

  app.openapi(registerRoute, async (c) => {
    const user = userPrincipal(c);
    const event = await loadEvent(c, c.req.valid("param").id);
    const { ticket, created } = await registerAttendee(c.get("deps"), c.get("log"), tickets, event, user.address);
    return c.json(ticket, created ? 201 : 200);
  });

  app.openapi(ticketRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { format } = c.req.valid("query");
    const event = await loadEvent(c, id);
    let address: string;
    const presented = c.req.header("x-ticket");
    if (presented !== undefined) {
      const claims = await tickets.verifyTicket(presented.trim());
      if (claims.eventId !== event.id) throw forbidden("TICKET_WRONG_EVENT", "this signed ticket is for another event");
      address = claims.address;
    } else {
      await requireAuth(c, async () => {});
      address = userPrincipal(c).address;
    }
    const participant = await findParticipant(c.get("deps").store.db, event.id, address);
    if (!participant) throw notFound("NOT_REGISTERED", "this wallet is not registered for the event");
    const qr = tickets.payload(event.id, participant.ticketId);
    c.header("Cache-Control", "no-store");
    c.header("X-Ticket-Code-Expires-At", qr.expiresAt.toISOString());
    if (format === "json") return c.json({ payload: qr.payload, step: qr.step, expiresAt: qr.expiresAt.toISOString() }, 200);
    if (format === "svg") return c.body(await qrSvg(qr.payload), 200, { "content-type": "image/svg+xml" }) as never;
    return c.body(new Uint8Array(await qrPng(qr.payload)), 200, { "content-type": "image/png" }) as never;
  });

  app.openapi(verifyRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { code } = c.req.valid("json");
    const { store, kv, config } = c.get("deps");
    const event = await loadEvent(c, id);
    const verifier = requireEventOrganizer(c, event);
    const window = { opensBeforeSeconds: config.events.checkInOpensBeforeSeconds, closesAfterSeconds: config.events.checkInClosesAfterSeconds };
    const outcome = await verifyAttendance(store.db, tickets, event, code, verifier, window);
    if (!outcome.ok)
      return errorJson(c, 409, outcome.code, outcome.message, { attendedAt: outcome.attendedAt.toISOString(), verifiedBy: outcome.verifiedBy }) as never;
    const p = outcome.participant;
    attendance.inc();
    await publishParticipantFact(
      kv,
      c.get("log"),
      {
        type: "event:attended",
        eventId: event.id,
        ticketId: p.ticketId,
        address: p.address,
        organizer: await activeOrganizer(c.get("deps"), event),
        counts: { attended: (await eventCounts(store.db, [event.id])).get(event.id)!.attended },
        details: { attendedAt: p.attendedAt.toISOString() },
      },
      { store, maxAttempts: c.get("deps").config.webhooks.maxAttempts },
    );
    return c.json({ eventId: event.id, address: p.address, attendedAt: p.attendedAt.toISOString(), verifiedBy: verifier }, 200);
  });

  app.openapi(distributeRoute, async (c) => {
    const event = await loadEvent(c, c.req.valid("param").id);
    requireEventOrganizer(c, event);
    if (event.status === "cancelled") throw conflict("EVENT_CANCELLED", "the event is cancelled");
    if (!options.signers?.get(event.chainId)) throw dependencyDown("MINTER_UNAVAILABLE", `no server signer for chain ${event.chainId}`);
    const { job, created } = await jobs().enqueue({
      type: DISTRIBUTE_NFTS,
      data: { eventId: event.id },
      createdBy: principalId(c.get("principal")),
      dedupeKey: `${DISTRIBUTE_NFTS}:${event.id}`,
    });
    return c.json({ job: jobView(job, false), created }, 202);
  });

  app.openapi(reportRoute, async (c) => {
    const event = await loadEvent(c, c.req.valid("param").id);
    requireEventOrganizer(c, event);
    const report = await buildReport(c.get("deps").store.db, event);
    if (c.req.valid("query").format === "csv")
      return c.body(reportCsv(report), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="event-${event.id}.csv"`,
      }) as never;
    return c.json(report, 200);
  });

  app.openapi(reportJobRoute, async (c) => {
    const event = await loadEvent(c, c.req.valid("param").id);
    requireEventOrganizer(c, event);
    const { job, created } = await jobs().enqueue({
      type: GENERATE_EVENT_REPORT,
      data: { eventId: event.id },
      createdBy: principalId(c.get("principal")),
      dedupeKey: `${GENERATE_EVENT_REPORT}:${event.id}`,
    });
    return c.json({ job: jobView(job, false), created }, 202);
  });

  return app;
}
