/**
 * EIP-4361 (Sign-In with Ethereum) checks, beyond what viem's validateSiweMessage does: exact domain
 * and URI, version 1, configured chain, issuedAt/expirationTime/notBefore with a small skew, and a
 * nonce that we issued, that is unused and bound to the signing address. The nonce is consumed
 * (atomically) by every attempt that reaches signature checking.
 */
import { randomInt } from "node:crypto";
import pkg from "@spruceid/siwe-parser";
import { type Hex, HttpRequestError, TimeoutError, WebSocketRequestError, getAddress, isHex, recoverMessageAddress } from "viem";
import type { KeyValueStore } from "../../infra/redis.js";
import { ServiceError, badRequest, dependencyDown, unauthorized, unprocessable } from "../../infra/errors.js";

const { ParsedMessage } = pkg;

/** Verifies a signature for an address on a chain (viem public client: EOA, ERC-1271, ERC-6492). */
export type SignatureVerifier = {
  verifyMessage(args: { address: Hex; message: string; signature: Hex }): Promise<boolean>;
  /** Liveness probe: viem's verifyMessage answers false (not an error) when the RPC is down. */
  getChainId?(): Promise<number>;
};
export type ChainVerifiers = ReadonlyMap<number, SignatureVerifier>;

export type SiweSettings = {
  domain: string;
  uri: string;
  chainIds: readonly number[];
  nonceTtlSeconds: number;
  clockSkewSeconds: number;
};

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const NONCE_LENGTH = 17;

export function generateNonce(length = NONCE_LENGTH): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

const nonceKey = (nonce: string) => `auth:nonce:${nonce}`;
const usedNonceKey = (nonce: string) => `auth:nonce-used:${nonce}`;

type NonceRecord = { address: `0x${string}`; issuedAt: number };

export async function issueNonce(kv: KeyValueStore, address: `0x${string}`, ttlSeconds: number, now = Date.now()) {
  const nonce = generateNonce();
  const record: NonceRecord = { address, issuedAt: now };
  await kv.set(nonceKey(nonce), JSON.stringify(record), ttlSeconds * 1000);
  return { nonce, issuedAt: new Date(now), expiresAt: new Date(now + ttlSeconds * 1000) };
}

const REQUIRED_FIELDS: [string, RegExp][] = [
  ["address", /^0x[0-9a-fA-F]{40}$/m],
  ["URI", /^URI: /m],
  ["Version", /^Version: /m],
  ["Chain ID", /^Chain ID: /m],
  ["Nonce", /^Nonce: /m],
  ["Issued At", /^Issued At: /m],
];

export type ParsedSiwe = InstanceType<typeof ParsedMessage>;

/** Parses strictly; maps failures to 400 codes (missing field / unsupported version / malformed). */
export function parseSiweMessage(message: string): ParsedSiwe {
  if (!/ wants you to sign in with your Ethereum account:\n/.test(message))
    throw badRequest("SIWE_MALFORMED_MESSAGE", "not an EIP-4361 message (missing preamble)");
  for (const [field, pattern] of REQUIRED_FIELDS) {
    if (!pattern.test(message)) throw badRequest("SIWE_MISSING_FIELD", `SIWE message lacks the required field: ${field}`);
  }
  const version = /^Version: (.*)$/m.exec(message)?.[1];
  if (version !== "1") throw unprocessable("SIWE_UNSUPPORTED_VERSION", `SIWE version must be 1 (got "${String(version).slice(0, 20)}")`);
  try {
    return new ParsedMessage(message);
  } catch (error) {
    const reason = String((error as Error)?.message ?? error)
      .split("\n")[0]!
      .slice(0, 200);
    throw badRequest("SIWE_MALFORMED_MESSAGE", `malformed SIWE message: ${reason}`);
  }
}

/** Best-effort address of a message, before full parsing (rate limiting per address). */
export function peekAddress(message: string): string | undefined {
  return /^0x[0-9a-fA-F]{40}$/m.exec(message)?.[0]?.toLowerCase();
}

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw badRequest("SIWE_MALFORMED_MESSAGE", `${field} is not an RFC 3339 date-time`);
  return ms;
}

export type SiweResult = { address: `0x${string}`; chainId: number; nonce: string; issuedAt: Date; expirationTime?: Date };

export async function verifySiwe(
  input: { message: string; signature: string },
  ctx: { kv: KeyValueStore; settings: SiweSettings; verifiers: ChainVerifiers; now?: number },
): Promise<SiweResult> {
  const now = ctx.now ?? Date.now();
  const { settings } = ctx;
  const skewMs = settings.clockSkewSeconds * 1000;
  const parsed = parseSiweMessage(input.message);

  if (parsed.domain !== settings.domain) throw unprocessable("SIWE_DOMAIN_MISMATCH", `domain must be ${settings.domain}`);
  // Optional `scheme://` before the domain (EIP-4361): when present it must be the URI's scheme.
  if (parsed.scheme && parsed.scheme !== new URL(settings.uri).protocol.replace(/:$/, ""))
    throw unprocessable("SIWE_DOMAIN_MISMATCH", `scheme must be ${new URL(settings.uri).protocol.replace(/:$/, "")}`);
  if (parsed.uri !== settings.uri) throw unprocessable("SIWE_URI_MISMATCH", `uri must be ${settings.uri}`);
  if (!settings.chainIds.includes(parsed.chainId))
    throw unprocessable("SIWE_CHAIN_NOT_SUPPORTED", `chain ${parsed.chainId} is not supported (supported: ${settings.chainIds.join(", ") || "none"})`);

  const issuedAt = parseTime(parsed.issuedAt, "issuedAt")!;
  const expirationTime = parseTime(parsed.expirationTime, "expirationTime");
  const notBefore = parseTime(parsed.notBefore, "notBefore");
  if (issuedAt > now + skewMs) throw unauthorized("SIWE_ISSUED_IN_FUTURE", "issuedAt is in the future");
  if (expirationTime !== undefined && expirationTime <= now) throw unauthorized("SIWE_EXPIRED", "the SIWE message has expired");
  if (expirationTime !== undefined && expirationTime <= issuedAt) throw unauthorized("SIWE_EXPIRED", "expirationTime is not after issuedAt");
  if (notBefore !== undefined && notBefore > now + skewMs) throw unauthorized("SIWE_NOT_YET_VALID", "the SIWE message is not valid yet (notBefore)");

  const address = getAddress(parsed.address);
  const raw = await ctx.kv.get(nonceKey(parsed.nonce));
  if (raw === null) {
    if (await ctx.kv.get(usedNonceKey(parsed.nonce))) throw unauthorized("SIWE_NONCE_REUSED", "nonce already used: request a new one");
    throw unauthorized("SIWE_NONCE_UNKNOWN", "nonce unknown or expired: request a new one");
  }
  const record = JSON.parse(raw) as NonceRecord;
  if (record.address !== address) throw unauthorized("SIWE_NONCE_ADDRESS_MISMATCH", "nonce was issued for another address");
  if (issuedAt < record.issuedAt - skewMs) throw unauthorized("SIWE_ISSUED_BEFORE_NONCE", "issuedAt is older than the nonce");

  // From here on the attempt reaches signature checking: consume the nonce whatever the outcome.
  const consumed = await ctx.kv.getDel(nonceKey(parsed.nonce));
  if (consumed === null) throw unauthorized("SIWE_NONCE_REUSED", "nonce already used: request a new one");
  await ctx.kv.set(usedNonceKey(parsed.nonce), "1", settings.nonceTtlSeconds * 1000);

  if (!isHex(input.signature)) throw unauthorized("SIWE_INVALID_SIGNATURE", "signature is not hex");
  const signature = input.signature as Hex;
  let valid = false;
  // EOA fast path: a plain 65-byte signature that recovers to the address needs no RPC.
  if (signature.length === 132) {
    try {
      valid = (await recoverMessageAddress({ message: input.message, signature })) === address;
    } catch {}
  }
  if (!valid) {
    const verifier = ctx.verifiers.get(parsed.chainId);
    if (!verifier) throw dependencyDown("CHAIN_UNAVAILABLE", `no RPC configured for chain ${parsed.chainId}`);
    try {
      valid = await verifier.verifyMessage({ address, message: input.message, signature });
    } catch (error) {
      if (isRpcFailure(error)) throw dependencyDown("CHAIN_UNAVAILABLE", `cannot reach chain ${parsed.chainId} to verify the signature`, error);
      valid = false; // malformed signature bytes, reverting wallet, ...
    }
    if (!valid && verifier.getChainId) {
      // Tell "invalid" from "could not ask the chain" before rejecting the credential.
      try {
        await verifier.getChainId();
      } catch (error) {
        throw dependencyDown("CHAIN_UNAVAILABLE", `cannot reach chain ${parsed.chainId} to verify the signature`, error);
      }
    }
  }
  if (!valid) throw unauthorized("SIWE_INVALID_SIGNATURE", "signature does not match the message and address");
  return {
    address,
    chainId: parsed.chainId,
    nonce: parsed.nonce,
    issuedAt: new Date(issuedAt),
    ...(expirationTime !== undefined ? { expirationTime: new Date(expirationTime) } : {}),
  };
}

function isRpcFailure(error: unknown): boolean {
  for (let e = error as { cause?: unknown } | undefined, d = 0; e && d < 6; e = e.cause as typeof e, d++) {
    if (e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof WebSocketRequestError) return true;
  }
  return false;
}

export { ServiceError };
