/** Ticket keys: rotating codes (current and previous step only), MAC binding, signed tickets, dev secret file. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEV_SECRET_FILE, loadTicketSecret, TicketKeys } from "../../domain/events/tickets.js";
import { eventTokenId } from "../../domain/events/tokenIds.js";
import { tokenIdOrigin } from "../../chain/onft.js";

const keys = new TicketKeys(Buffer.from("0123456789abcdef0123456789abcdef"), 30);
const eventId = "0b9f1f9e-3f2c-4a55-9d1e-8f3a2b7c6d5e";
const ticketId = "5d6c2f0a-1b2c-4d3e-8f9a-0b1c2d3e4f50";
const T = 1_800_000_000_000;

describe("rotating ticket codes", () => {
  it("accepts the current and the previous step only", () => {
    const { payload, step, expiresAt } = keys.payload(eventId, ticketId, T);
    const parsed = keys.parse(payload)!;
    expect(parsed).toMatchObject({ ticketId, step });
    expect(expiresAt.getTime()).toBe((step + 1) * 30_000);
    expect(keys.check(parsed, eventId, T)).toBe("ok");
    expect(keys.check(parsed, eventId, T + 30_000)).toBe("ok");
    expect(keys.check(parsed, eventId, T + 60_000)).toBe("expired");
    expect(keys.check(parsed, eventId, T - 30_000)).toBe("not_yet_valid");
  });

  it("binds the code to its ticket and event, and changes every step", () => {
    const a = keys.parse(keys.payload(eventId, ticketId, T).payload)!;
    expect(keys.check(a, "11111111-1111-4111-8111-111111111111", T)).toBe("forged");
    expect(keys.check({ ...a, ticketId: "5d6c2f0a-1b2c-4d3e-8f9a-0b1c2d3e4f51" }, eventId, T)).toBe("forged");
    expect(keys.check({ ...a, step: a.step - 1 }, eventId, T)).toBe("forged");
    expect(keys.code(eventId, ticketId, a.step)).not.toBe(keys.code(eventId, ticketId, a.step + 1));
    const otherServer = new TicketKeys(Buffer.from("another-secret-another-secret-xx"), 30);
    expect(otherServer.check(a, eventId, T)).toBe("forged");
  });

  it("rejects malformed payloads", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        const parsed = keys.parse(s);
        if (parsed) expect(keys.check(parsed, eventId, T)).not.toBe("ok");
      }),
    );
    expect(keys.parse("CL1:XYZ:1:2")).toBeUndefined();
  });

  it("signs tickets and refuses tampered or expired ones", async () => {
    const token = await keys.signTicket({ eventId, ticketId, address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }, new Date(Date.now() + 60_000));
    expect(await keys.verifyTicket(token)).toEqual({ eventId, ticketId, address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });
    await expect(keys.verifyTicket(`${token.slice(0, -2)}AA`)).rejects.toMatchObject({ kind: "unauthenticated", code: "TICKET_INVALID" });
    const expired = await keys.signTicket({ eventId, ticketId, address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }, new Date(Date.now() - 60_000));
    await expect(keys.verifyTicket(expired)).rejects.toMatchObject({ kind: "unauthenticated", code: "TICKET_EXPIRED" });
    await expect(new TicketKeys(Buffer.from("another-secret-another-secret-xx")).verifyTicket(token)).rejects.toMatchObject({ code: "TICKET_INVALID" });
  });

  it("persists a development secret (0600) and reuses it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tickets-"));
    try {
      const seen: boolean[] = [];
      const a = loadTicketSecret(undefined, dir, (_f, created) => seen.push(created));
      const b = loadTicketSecret(undefined, dir, (_f, created) => seen.push(created));
      expect(a.equals(b)).toBe(true);
      expect(seen).toEqual([true, false]);
      expect(statSync(path.join(dir, DEV_SECRET_FILE)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(dir, DEV_SECRET_FILE), "utf8")).toMatch(/^[0-9a-f]{64}$/);
      expect(loadTicketSecret("configured-secret-configured-secret", dir).toString()).toBe("configured-secret-configured-secret");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("attendance token ids", () => {
  it("are deterministic per (event, attendee), case-insensitive, inside the chain's range", () => {
    const a = eventTokenId(50001, eventId, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    expect(eventTokenId(50001, eventId.toUpperCase(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")).toBe(a);
    expect(tokenIdOrigin(a)).toBe(50001);
    expect(eventTokenId(50001, eventId, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")).not.toBe(a);
    expect(eventTokenId(50001, "11111111-1111-4111-8111-111111111111", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).not.toBe(a);
  });
});
