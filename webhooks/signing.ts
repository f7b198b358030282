/**
 * Signatures of webhook deliveries: HMAC-SHA256 (node:crypto) over `<timestamp>.<body>`, hex, sent
 * as `Webhook-Signature: v1=<hex>[,v1=<hex>]` — one per active secret (two during a rotation's
 * overlap) — with `Webhook-Timestamp: <unix seconds>` and `Webhook-Id: <push id>` (idempotency).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "webhook-signature";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const ID_HEADER = "webhook-id";

/** A new secret: `whsec_` + 32 random bytes (base64url). */
export const newSecret = () => `whsec_${randomBytes(32).toString("base64url")}`;

export const sign = (secret: string, timestamp: number, body: string) => createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");

/** The headers of one delivery, signed with every active secret. */
export function signedHeaders(secrets: string[], pushId: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    [ID_HEADER]: pushId,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: secrets.map((s) => `v1=${sign(s, timestamp, body)}`).join(","),
  };
}

/** What a receiver does (docs/webhooks.md): true when one of the signatures matches and the timestamp is recent. */
export function verify(secret: string, headers: { timestamp: string; signature: string }, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, timestamp, body), "hex");
  return headers.signature.split(",").some((part) => {
    const [version, hex] = part.trim().split("=");
    if (version !== "v1" || !hex) return false;
    const given = Buffer.from(hex, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
