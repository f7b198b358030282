/**
 * Events routes against real Postgres + Redis (and PGlite + the in-process adapter): creation rules,
 * listing, 100 concurrent registrations for 50 seats, idempotent registration, registration window,
 * QR tickets that decode to a valid rotating code, check-in once, rejected codes, realtime pushes.
 * No chain is needed here (distribution is tested in flow.test.ts on a devnet).
 */
import { randomUUID } from "node:crypto";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REALTIME_CHANNEL } from "../../realtime/protocol.js";
import { bearer, createEventsApp, decodeQrPng, type EventsApp, fakeNetwork, inMinutes, organizer, post } from "./helpers.js";

const modes = [
  { kv: "redis", store: "postgres" },
  { kv: "memory", store: "pglite" },
] as const;

describe.each(modes)("events routes ($store, $kv)", ({ kv, store }) => {
  let t: EventsApp;
  let org: { token: string; address: `0x${string}` };
  let otherOrg: { token: string; address: `0x${string}` };
  const published: { type: string; rooms: string[]; data: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    t = await createEventsApp({ kv, store, network: fakeNetwork() });
    org = await organizer(t);
    otherOrg = await organizer(t);
    await t.deps.kv.subscribe(REALTIME_CHANNEL, (m) => published.push(JSON.parse(m)));
  });
  afterAll(async () => {
    await t?.close();
  });

  const createEvent = async (overrides: Record<string, unknown> = {}, token = org.token) =>
    await t.request(
      "/events",
      post({ name: "Launch party", startsAt: inMinutes(60), endsAt: inMinutes(120), capacity: 50, collection: "cosmic", chainId: 31337, ...overrides }, token),
    );
  const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code });

  it("creates events (organizer only, known mintable collection, coherent times)", async () => {
    const res = await createEvent({ description: "d", location: "Paris" });
    expect(res.status).toBe(201);
    const event = (await res.json()) as Record<string, any>;
    expect(event).toMatchObject({
      organizer: org.address,
      capacity: 50,
      status: "active",
      phase: "upcoming",
      registrationOpen: true,
      counts: { registered: 0, attended: 0, minted: 0 },
    });
    expect(event.nft).toEqual({ collection: "cosmic", chainId: 31337, contract: "0x00000000000000000000000000000000000000C0" });
    expect((await t.request(`/events/${event.id}`)).status).toBe(200);

    const user = await t.login();
    expect(await errorOf(await createEvent({}, user.token))).toEqual({ status: 403, code: "MISSING_ROLE" });
    expect(await errorOf(await createEvent({ collection: "nope" }))).toEqual({ status: 422, code: "COLLECTION_NOT_ON_CHAIN" });
    expect(await errorOf(await createEvent({ endsAt: inMinutes(30) }))).toEqual({ status: 422, code: "INVALID_EVENT_TIMES" });
    expect(await errorOf(await createEvent({ capacity: 0 }))).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    expect(await errorOf(await t.request("/events/not-a-uuid"))).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    expect(await errorOf(await t.request(`/events/${randomUUID()}`))).toEqual({ status: 404, code: "EVENT_NOT_FOUND" });
    expect(await errorOf(await t.request("/events/tokens/99999999999/1"))).toEqual({ status: 400, code: "VALIDATION_FAILED" });
    expect(await errorOf(await t.request(`/events/tokens/31337/${"9".repeat(78)}`))).toEqual({ status: 404, code: "TOKEN_NOT_FROM_EVENT" });
  });

  it("lists with opaque cursors and filters", async () => {
    const mine = await organizer(t);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(((await (await createEvent({ startsAt: inMinutes(200 + i), endsAt: inMinutes(300) }, mine.token)).json()) as { id: string }).id);
    const past = (await (
      await createEvent(
        { startsAt: inMinutes(-120), endsAt: inMinutes(-60), registrationOpensAt: inMinutes(-180), registrationClosesAt: inMinutes(-100) },
        mine.token,
      )
    ).json()) as { id: string };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.request(`/events?organizer=${mine.address.toLowerCase()}&when=upcoming&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      const page = (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const pastPage = (await (await t.request(`/events?organizer=${mine.address}&when=past`)).json()) as { items: { id: string; phase: string }[] };
    expect(pastPage.items.map((e) => [e.id, e.phase])).toEqual([[past.id, "past"]]);
    expect(await errorOf(await t.request("/events?cursor=garbage"))).toEqual({ status: 400, code: "INVALID_CURSOR" });
    expect(await errorOf(await t.request("/events?limit=500"))).toEqual({ status: 400, code: "VALIDATION_FAILED" });
  });

  it("100 concurrent registrations for 50 seats: exactly 50 succeed; re-registering is idempotent", async () => {
    const event = (await (await createEvent({ capacity: 50 })).json()) as { id: string };
    const users = await Promise.all(Array.from({ length: 100 }, () => t.login()));
    const responses = await Promise.all(users.map((u) => t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(u.token) })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(50);
    for (const r of responses.filter((r) => r.status === 409)) expect(((await r.json()) as { error: { code: string } }).error.code).toBe("EVENT_FULL");
    const view = (await (await t.request(`/events/${event.id}`)).json()) as { counts: { registered: number }; registrationOpen: boolean };
    expect(view.counts.registered).toBe(50);
    expect(view.registrationOpen).toBe(false);

    // Same wallet again (even concurrently): the same ticket, no second seat.
    const winner = users[statuses.indexOf(201)]!;
    const again = await Promise.all([1, 2, 3].map(() => t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(winner.token) })));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    const first = (await responses[statuses.indexOf(201)]!.json()) as { ticketId: string; address: string };
    for (const r of again) expect(((await r.json()) as { ticketId: string }).ticketId).toBe(first.ticketId);
    expect(first.address).toBe(winner.address);
    // And a fresh event: the same wallet registering twice at once takes one seat.
    const small = (await (await createEvent({ capacity: 2 })).json()) as { id: string };
    const u = await t.login();
    const twice = await Promise.all([1, 2, 3, 4].map(() => t.request(`/events/${small.id}/register`, { method: "POST", headers: bearer(u.token) })));
    expect(twice.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(((await (await t.request(`/events/${small.id}`)).json()) as { counts: { registered: number } }).counts.registered).toBe(1);
  });

  it("registration only inside the window, never on a cancelled event, never with an API-less anonymous call", async () => {
    const user = await t.login();
    const notYet = (await (await createEvent({ registrationOpensAt: inMinutes(10), registrationClosesAt: inMinutes(50) })).json()) as { id: string };
    const closed = (await (
      await createEvent({ startsAt: inMinutes(-30), endsAt: inMinutes(30), registrationOpensAt: inMinutes(-60), registrationClosesAt: inMinutes(-1) })
    ).json()) as { id: string };
    const reg = (id: string, token = user.token) => t.request(`/events/${id}/register`, { method: "POST", headers: bearer(token) });
    expect(await errorOf(await reg(notYet.id))).toEqual({ status: 409, code: "REGISTRATION_NOT_OPEN" });
    expect(await errorOf(await reg(closed.id))).toEqual({ status: 409, code: "REGISTRATION_CLOSED" });
    expect(await errorOf(await t.request(`/events/${notYet.id}/register`, { method: "POST" }))).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const open = (await (await createEvent()).json()) as { id: string };
    expect(
      await errorOf(
        await t.request(`/events/${open.id}`, {
          method: "PATCH",
          headers: { ...bearer(otherOrg.token), "content-type": "application/json" },
          body: JSON.stringify({ status: "cancelled" }),
        }),
      ),
    ).toEqual({ status: 403, code: "NOT_EVENT_ORGANIZER" });
    const patched = await t.request(`/events/${open.id}`, {
      method: "PATCH",
      headers: { ...bearer(org.token), "content-type": "application/json" },
      body: JSON.stringify({ status: "cancelled" }),
    });
    expect(patched.status).toBe(200);
    expect(await errorOf(await reg(open.id))).toEqual({ status: 409, code: "EVENT_CANCELLED" });
  });

  it("a demoted organizer can no longer edit, cancel, reopen, check in, distribute or report its events", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    await t.grant(account.address, "organizer");
    const before = await t.login(account);
    const event = (await (await createEvent({}, before.token)).json()) as { id: string };
    const patch = (token: string, body: unknown) =>
      t.request(`/events/${event.id}`, { method: "PATCH", headers: { ...bearer(token), "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await patch(before.token, { name: "Mine" })).status).toBe(200);
    const revoked = await t.request(`/users/${account.address}/roles/organizer`, { method: "DELETE", headers: bearer(t.admin.token) });
    expect(revoked.status).toBe(200);
    // The token issued while it was an organizer is refused at once ...
    expect(await errorOf(await patch(before.token, { status: "cancelled" }))).toEqual({ status: 401, code: "TOKEN_STALE" });
    // ... and a fresh session has no organizer role.
    const after = await t.login(account);
    for (const body of [{ name: "Still mine?" }, { status: "cancelled" }, { status: "active" }])
      expect(await errorOf(await patch(after.token, body))).toEqual({ status: 403, code: "MISSING_ROLE" });
    const organizerRoutes: [string, string, unknown?][] = [
      ["POST", "verify", { code: "CL1:00:0:0" }],
      ["POST", "distribute"],
      ["GET", "report"],
      ["POST", "report"],
    ];
    for (const [method, path, body] of organizerRoutes)
      expect(
        await errorOf(
          await t.request(`/events/${event.id}/${path}`, {
            method,
            headers: { ...bearer(after.token), "content-type": "application/json" },
            ...(body ? { body: JSON.stringify(body) } : {}),
          }),
        ),
      ).toEqual({ status: 403, code: "MISSING_ROLE" });
    expect((await (await t.request(`/events/${event.id}`)).json()) as { name: string; status: string }).toMatchObject({ name: "Mine", status: "active" });
    // An admin still can.
    expect((await patch(t.admin.token, { status: "cancelled" })).status).toBe(200);
  });

  it("capacity cannot be lowered below the registrations", async () => {
    const event = (await (await createEvent({ capacity: 5 })).json()) as { id: string };
    for (let i = 0; i < 3; i++)
      expect((await t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer((await t.login()).token) })).status).toBe(201);
    const patch = (body: unknown) =>
      t.request(`/events/${event.id}`, { method: "PATCH", headers: { ...bearer(org.token), "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(await errorOf(await patch({ capacity: 2 }))).toEqual({ status: 409, code: "CAPACITY_BELOW_REGISTERED" });
    const ok = await patch({ capacity: 3, name: "Renamed" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ capacity: 3, name: "Renamed", registrationOpen: false });
  });

  it("ticket QR decodes to a valid rotating code; check-in once (second scan 409 with first time); bad codes get specific 4xx", async () => {
    const event = (await (await createEvent()).json()) as { id: string };
    const other = (await (await createEvent()).json()) as { id: string };
    const holder = await t.login();
    const regRes = await t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(holder.token) });
    expect(regRes.status).toBe(201);
    const reg = (await regRes.json()) as { ticket: string; ticketId: string; qr: { payload: string; svg: string; expiresAt: string } };
    expect(reg.qr.svg).toContain("<svg");
    expect(reg.qr.payload).toMatch(/^CL1:[0-9A-F]{32}:\d+:[0-9A-F]{20}$/);

    // PNG through the holder's session, and through the signed ticket alone.
    const png = await t.request(`/events/${event.id}/ticket?format=png`, { headers: bearer(holder.token) });
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(png.headers.get("cache-control")).toBe("no-store");
    const decoded = await decodeQrPng(new Uint8Array(await png.arrayBuffer()));
    expect(decoded).toMatch(/^CL1:/);
    const svg = await t.request(`/events/${event.id}/ticket?format=svg`, { headers: { "x-ticket": reg.ticket } });
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expect(await svg.text()).toContain("<svg");
    expect(await errorOf(await t.request(`/events/${other.id}/ticket`, { headers: { "x-ticket": reg.ticket } }))).toEqual({
      status: 403,
      code: "TICKET_WRONG_EVENT",
    });
    expect(await errorOf(await t.request(`/events/${event.id}/ticket`, { headers: { "x-ticket": `${reg.ticket}x` } }))).toEqual({
      status: 401,
      code: "TICKET_INVALID",
    });
    expect(await errorOf(await t.request(`/events/${other.id}/ticket`, { headers: bearer(holder.token) }))).toEqual({ status: 404, code: "NOT_REGISTERED" });

    const verify = (code: string, token = org.token, id = event.id) => t.request(`/events/${id}/verify`, post({ code }, token));
    // Rejections first (none of them marks attendance).
    const parsed = t.tickets.parse(decoded!)!;
    const stale = `CL1:${reg.ticketId.replaceAll("-", "").toUpperCase()}:${parsed.step - 2}:${t.tickets.code(event.id, reg.ticketId, parsed.step - 2)}`;
    const future = `CL1:${reg.ticketId.replaceAll("-", "").toUpperCase()}:${parsed.step + 1}:${t.tickets.code(event.id, reg.ticketId, parsed.step + 1)}`;
    const forged = decoded!.replace(/[0-9A-F]{20}$/, "0123456789ABCDEF0123");
    const unregistered = `CL1:${randomUUID().replaceAll("-", "").toUpperCase()}:${parsed.step}:0123456789ABCDEF0123`;
    expect(await errorOf(await verify("hello"))).toEqual({ status: 400, code: "TICKET_MALFORMED" });
    expect(await errorOf(await verify(forged))).toEqual({ status: 422, code: "TICKET_FORGED" });
    expect(await errorOf(await verify(stale))).toEqual({ status: 422, code: "TICKET_EXPIRED" });
    expect(await errorOf(await verify(future))).toEqual({ status: 422, code: "TICKET_NOT_YET_VALID" });
    expect(await errorOf(await verify(unregistered))).toEqual({ status: 404, code: "TICKET_NOT_REGISTERED" });
    expect(await errorOf(await verify(decoded!, org.token, other.id))).toEqual({ status: 422, code: "TICKET_WRONG_EVENT" });
    expect(await errorOf(await verify(decoded!, otherOrg.token))).toEqual({ status: 403, code: "NOT_EVENT_ORGANIZER" });
    expect(await errorOf(await verify(decoded!, holder.token))).toEqual({ status: 403, code: "MISSING_ROLE" });

    // The previous step is still accepted (a code shown just before the rotation).
    const previous = `CL1:${reg.ticketId.replaceAll("-", "").toUpperCase()}:${t.tickets.step() - 1}:${t.tickets.code(event.id, reg.ticketId, t.tickets.step() - 1)}`;
    const ok = await verify(previous);
    expect(ok.status).toBe(200);
    const attendance = (await ok.json()) as { attendedAt: string; address: string; verifiedBy: string };
    expect(attendance).toMatchObject({ address: holder.address, verifiedBy: org.address });
    const second = await verify(decoded!);
    expect(second.status).toBe(409);
    const body = (await second.json()) as { error: { code: string; attendedAt: string } };
    expect(body.error.code).toBe("ALREADY_CHECKED_IN");
    expect(body.error.attendedAt).toBe(attendance.attendedAt);
    // An admin may check in at any event.
    expect((await verify(decoded!, t.admin.token)).status).toBe(409);

    const view = (await (await t.request(`/events/${event.id}`)).json()) as { counts: Record<string, number> };
    expect(view.counts).toEqual({ registered: 1, attended: 1, minted: 0 });

    // Pushes after commit on the realtime channel.
    await new Promise((r) => setTimeout(r, 100));
    // The public event room gets counts only: no wallet, no time, not even in the push id.
    const forEvent = published.filter((m) => m.rooms.includes(`event:${event.id}`));
    expect(forEvent.map((m) => m.type)).toEqual(["event:registered", "event:attended"]);
    expect(forEvent.map((m) => m.rooms)).toEqual([[`event:${event.id}`], [`event:${event.id}`]]);
    expect(forEvent.map((m) => m.data)).toEqual([
      { eventId: event.id, registered: 1, capacity: 50 },
      { eventId: event.id, attended: 1 },
    ]);
    expect(JSON.stringify(forEvent).toLowerCase()).not.toContain(holder.address.toLowerCase().slice(2));
    // The attendee's and the organizer's own rooms get the details.
    const details = published.filter((m) => m.rooms.includes(`user:${holder.address}`) && m.data.eventId === event.id);
    expect(details.map((m) => m.rooms)).toEqual([
      [`user:${holder.address}`, `user:${org.address}`],
      [`user:${holder.address}`, `user:${org.address}`],
    ]);
    expect((details[0] as { id?: string }).id).toBe(`event:registered:${event.id}:${holder.address}`);
    expect(details[0]!.data).toMatchObject({ eventId: event.id, address: holder.address, registered: 1 });
    expect(details[1]!.data).toMatchObject({ eventId: event.id, address: holder.address, attendedAt: attendance.attendedAt, attended: 1 });
  });

  it("check-in is open only from EVENTS_CHECKIN_OPENS_BEFORE_SECONDS before the start to _CLOSES_AFTER_ after the end", async () => {
    const event = (await (await createEvent({ startsAt: inMinutes(10 * 60), endsAt: inMinutes(11 * 60) })).json()) as { id: string };
    const holder = await t.login();
    const reg = (await (await t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(holder.token) })).json()) as {
      qr: { payload: string };
    };
    const verify = () => t.request(`/events/${event.id}/verify`, post({ code: reg.qr.payload }, org.token));
    // Defaults: 3 h before the start, 3 h after the end.
    expect(await errorOf(await verify())).toEqual({ status: 409, code: "CHECK_IN_NOT_OPEN" });
    // Moved to a past evening that ended 4 h ago: closed.
    const patch = {
      startsAt: inMinutes(-6 * 60),
      endsAt: inMinutes(-4 * 60),
      registrationOpensAt: inMinutes(-8 * 60),
      registrationClosesAt: inMinutes(-6 * 60),
    };
    const moved = await t.request(`/events/${event.id}`, {
      method: "PATCH",
      headers: { ...bearer(org.token), "content-type": "application/json" },
      body: JSON.stringify(patch),
    });
    expect(moved.status).toBe(200);
    expect(await errorOf(await verify())).toEqual({ status: 409, code: "CHECK_IN_CLOSED" });
    // Ended 2 h ago: still within the window.
    const later = { endsAt: inMinutes(-2 * 60) };
    expect(
      (
        await t.request(`/events/${event.id}`, {
          method: "PATCH",
          headers: { ...bearer(org.token), "content-type": "application/json" },
          body: JSON.stringify(later),
        })
      ).status,
    ).toBe(200);
    expect((await verify()).status).toBe(200);
    const view = (await (await t.request(`/events/${event.id}`)).json()) as { counts: Record<string, number> };
    expect(view.counts).toMatchObject({ registered: 1, attended: 1 });
  });

  it("report (JSON and CSV) for the organizer only; distribute without a minter is 503", async () => {
    const event = (await (await createEvent()).json()) as { id: string };
    const users = await Promise.all([1, 2, 3, 4].map(() => t.login()));
    const payloads: string[] = [];
    for (const u of users)
      payloads.push(
        ((await (await t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(u.token) })).json()) as { qr: { payload: string } }).qr
          .payload,
      );
    for (const p of payloads.slice(0, 3)) expect((await t.request(`/events/${event.id}/verify`, post({ code: p }, org.token))).status).toBe(200);
    const json = (await (await t.request(`/events/${event.id}/report`, { headers: bearer(org.token) })).json()) as any;
    expect(json.totals).toMatchObject({ registered: 4, attended: 3, attendanceRate: 0.75, minted: 0, pending: 3 });
    expect(json.participants).toHaveLength(4);
    expect(json.participants.filter((p: any) => p.distributionStatus === "not_attended")).toHaveLength(1);
    expect(json.checkIns.first).not.toBeNull();
    const csv = await t.request(`/events/${event.id}/report?format=csv`, { headers: bearer(org.token) });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("address,registeredAt,attendedAt,verifiedBy,distributionStatus,tokenId,txHash,mintedAt,error");
    expect(lines).toHaveLength(5);
    expect(await errorOf(await t.request(`/events/${event.id}/report`, { headers: bearer(otherOrg.token) }))).toEqual({
      status: 403,
      code: "NOT_EVENT_ORGANIZER",
    });
    expect(await errorOf(await t.request(`/events/${event.id}/distribute`, { method: "POST", headers: bearer(org.token) }))).toEqual({
      status: 503,
      code: "MINTER_UNAVAILABLE",
    });
    // The report job snapshots the same report.
    const queued = await t.request(`/events/${event.id}/report`, { method: "POST", headers: bearer(org.token) });
    expect(queued.status).toBe(202);
    const { job } = (await queued.json()) as { job: { id: string } };
    let done: any;
    for (let i = 0; i < 100 && done?.status !== "completed"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = await (await t.request(`/jobs/${job.id}`, { headers: bearer(org.token) })).json();
    }
    expect(done).toMatchObject({ type: "generate-event-report", status: "completed", attempts: 1 });
    expect(done.result.totals).toEqual(json.totals);
    expect(await errorOf(await t.request(`/jobs/${job.id}`, { headers: bearer(otherOrg.token) }))).toEqual({ status: 404, code: "JOB_NOT_FOUND" });
    expect((await t.request(`/jobs/${job.id}`, { headers: bearer(t.admin.token) })).status).toBe(200);
  });

  it("serves the routes in the OpenAPI document", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as { paths: Record<string, unknown> };
    for (const p of [
      "/events",
      "/events/{id}",
      "/events/{id}/register",
      "/events/{id}/ticket",
      "/events/{id}/verify",
      "/events/{id}/distribute",
      "/events/{id}/report",
      "/jobs/{id}",
    ])
      expect(doc.paths[p], p).toBeDefined();
  });
});
