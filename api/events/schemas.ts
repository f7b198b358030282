/** zod schemas of the events and jobs routes (validation + OpenAPI). */
import { z } from "@hono/zod-openapi";
import { AddressSchema } from "../auth/routes.js";

const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-12-01T18:00:00Z" });

export const EventIdParams = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" }, example: "0b9f1f9e-3f2c-4a55-9d1e-8f3a2b7c6d5e" }) });

export const CreateEventBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000).default(""),
    location: z.string().max(500).default(""),
    startsAt: Instant,
    endsAt: Instant,
    registrationOpensAt: Instant.optional().openapi({ description: "default: now" }),
    registrationClosesAt: Instant.optional().openapi({ description: "default: endsAt" }),
    capacity: z.number().int().min(1).max(1_000_000),
    collection: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .openapi({ example: "cosmic" }),
    chainId: z.number().int().positive().max(2_147_483_647),
    organizer: AddressSchema.optional().openapi({ description: "admins only: create on behalf of an organizer (default: the caller)" }),
  })
  .strict()
  .openapi("CreateEventRequest");

export const PatchEventBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000),
    location: z.string().max(500),
    startsAt: Instant,
    endsAt: Instant,
    registrationOpensAt: Instant,
    registrationClosesAt: Instant,
    capacity: z.number().int().min(1).max(1_000_000),
    status: z.enum(["active", "cancelled"]),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, "nothing to update")
  .openapi("PatchEventRequest");

export const EventSchema = z
  .object({
    id: z.string(),
    organizer: z.string(),
    name: z.string(),
    description: z.string(),
    location: z.string(),
    startsAt: z.string(),
    endsAt: z.string(),
    registrationOpensAt: z.string(),
    registrationClosesAt: z.string(),
    capacity: z.number(),
    status: z.enum(["active", "cancelled"]),
    phase: z.enum(["upcoming", "ongoing", "past"]),
    registrationOpen: z.boolean(),
    nft: z.object({ collection: z.string(), chainId: z.number(), contract: z.string() }),
    counts: z.object({ registered: z.number(), attended: z.number(), minted: z.number() }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Event");

export const ListEventsQuery = z.object({
  when: z.enum(["upcoming", "ongoing", "past"]).optional(),
  organizer: AddressSchema.optional(),
  cursor: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const EventListSchema = z.object({ items: z.array(EventSchema), nextCursor: z.string().nullable() }).openapi("EventList");

export const QrSchema = z.object({
  payload: z.string().openapi({ description: "what the QR code encodes: CL1:<ticket>:<step>:<code>" }),
  svg: z.string(),
  expiresAt: z.string().openapi({ description: "end of the current step; the code is still accepted during the next one" }),
});

export const TicketSchema = z
  .object({
    eventId: z.string(),
    address: z.string(),
    ticketId: z.string(),
    registeredAt: z.string(),
    attendedAt: z.string().nullable(),
    ticket: z.string().openapi({ description: "signed ticket (JWT); send it as x-ticket to GET /events/{id}/ticket without a session" }),
    qr: QrSchema,
  })
  .openapi("Ticket");

export const TicketQuery = z.object({ format: z.enum(["png", "svg", "json"]).default("png") });

export const VerifyBody = z
  .object({ code: z.string().min(1).max(200) })
  .strict()
  .openapi("VerifyTicketRequest");

export const AttendanceSchema = z.object({ eventId: z.string(), address: z.string(), attendedAt: z.string(), verifiedBy: z.string() }).openapi("Attendance");

export const ReportQuery = z.object({ format: z.enum(["json", "csv"]).default("json") });

export const JobSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    status: z.enum(["queued", "running", "retrying", "completed", "failed"]),
    progress: z.record(z.string(), z.unknown()).nullable(),
    attempts: z.number(),
    maxAttempts: z.number(),
    error: z.string().nullable(),
    result: z.unknown().optional(),
    createdBy: z.string(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Job");

export const EnqueuedSchema = z.object({ job: JobSchema, created: z.boolean() }).openapi("EnqueuedJob");
