/**
 * Tickets. A registration gets a ticket id; from one server master secret we derive
 *  - a signed ticket (HS256 JWT: event, address, ticket id) the holder keeps as proof and can present
 *    instead of a session to fetch its QR code;
 *  - a per-ticket code secret (HKDF of the ticket id, never stored) from which a rotating code is
 *    computed per time step (TOTP-like, RFC 6238 style HMAC of the step). The QR encodes
 *    `CL1:<ticket id>:<step>:<code>`, so a screenshot stops working after the next step: unlike a
 *    static POAP claim link/QR, sharing it after the fact is useless.
 * Verification accepts the current and the previous step only.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import QRCode from "qrcode";
import { getAddress } from "viem";
import { ConfigError } from "../../infra/config/index.js";
import { unauthorized } from "../../infra/errors.js";

export const DEV_SECRET_FILE = "events-ticket-secret";

/** The configured master secret, or a development one generated once into `${dataDir}/events-ticket-secret` (0600). */
export function loadTicketSecret(configured: string | undefined, dataDir: string, onDevSecret?: (file: string, created: boolean) => void): Buffer {
  if (configured) return Buffer.from(configured, "utf8");
  const file = path.join(dataDir, DEV_SECRET_FILE);
  if (existsSync(file)) {
    const hex = readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError(`${file} is not a 32-byte hex secret: delete it to regenerate`);
    onDevSecret?.(file, false);
    return Buffer.from(hex, "hex");
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, secret.toString("hex"), { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  onDevSecret?.(file, true);
  return secret;
}

export type TicketClaims = { eventId: string; address: `0x${string}`; ticketId: string };
export type CodeCheck = { status: "ok"; ticketId: string; step: number } | { status: "malformed" };
export type CodeVerdict = "ok" | "forged" | "expired" | "not_yet_valid";

const PAYLOAD = /^CL1:([0-9A-F]{32}):(\d{1,12}):([0-9A-F]{20})$/;
const ISSUER = "cosmic-loop-events";

const uuidToHex = (id: string) => id.replaceAll("-", "").toUpperCase();
const hexToUuid = (h: string) => {
  const x = h.toLowerCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
};

export class TicketKeys {
  private readonly jwtKey: Uint8Array;

  constructor(
    private readonly master: Buffer,
    readonly stepSeconds = 30,
  ) {
    this.jwtKey = new Uint8Array(hkdfSync("sha256", master, "cosmic-loop", "ticket-jwt", 32));
  }

  async signTicket(claims: TicketClaims, expiresAt: Date): Promise<string> {
    return await new SignJWT({ evt: claims.eventId, tid: claims.ticketId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setSubject(claims.address)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.jwtKey);
  }

  /** The claims of a signed ticket, or 401 TICKET_INVALID / TICKET_EXPIRED. */
  async verifyTicket(token: string): Promise<TicketClaims> {
    try {
      const { payload } = await jwtVerify(token, this.jwtKey, { issuer: ISSUER, algorithms: ["HS256"] });
      if (typeof payload.evt !== "string" || typeof payload.tid !== "string" || typeof payload.sub !== "string") throw new Error("claims");
      return { eventId: payload.evt, ticketId: payload.tid, address: getAddress(payload.sub) };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("TICKET_EXPIRED", "the signed ticket has expired");
      throw unauthorized("TICKET_INVALID", "the signed ticket is not valid");
    }
  }

  step(now = Date.now()): number {
    return Math.floor(now / 1000 / this.stepSeconds);
  }

  /** 80-bit code of a ticket at a step, bound to its event. */
  code(eventId: string, ticketId: string, step: number): string {
    const secret = Buffer.from(hkdfSync("sha256", this.master, ticketId, "ticket-code", 32));
    return createHmac("sha256", secret).update(`${eventId}:${step}`).digest("hex").slice(0, 20).toUpperCase();
  }

  /** What the QR code encodes now, and until when this step is current. */
  payload(eventId: string, ticketId: string, now = Date.now()): { payload: string; step: number; expiresAt: Date } {
    const step = this.step(now);
    return {
      payload: `CL1:${uuidToHex(ticketId)}:${step}:${this.code(eventId, ticketId, step)}`,
      step,
      expiresAt: new Date((step + 1) * this.stepSeconds * 1000),
    };
  }

  parse(payload: string): { ticketId: string; step: number; code: string } | undefined {
    const m = PAYLOAD.exec(payload.trim().toUpperCase());
    if (!m) return undefined;
    return { ticketId: hexToUuid(m[1]!), step: Number(m[2]), code: m[3]! };
  }

  /** Checks a parsed code against the ticket's real event: forged (wrong MAC), or outside [current-1, current]. */
  check(parsed: { ticketId: string; step: number; code: string }, eventId: string, now = Date.now()): CodeVerdict {
    const expected = Buffer.from(this.code(eventId, parsed.ticketId, parsed.step));
    const given = Buffer.from(parsed.code);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "forged";
    const current = this.step(now);
    if (parsed.step > current) return "not_yet_valid";
    if (parsed.step < current - 1) return "expired";
    return "ok";
  }
}

export async function qrPng(payload: string): Promise<Buffer> {
  return await QRCode.toBuffer(payload, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 8 });
}

export async function qrSvg(payload: string): Promise<string> {
  return await QRCode.toString(payload, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
