/** NFT ids (`<collection>:<tokenId>`), opaque cursors, and JSON shaping (bigints as strings, checksummed addresses). */
import { z } from "@hono/zod-openapi";
import { getAddress, isAddress } from "viem";
import { badRequest } from "../../infra/errors.js";

export const NFT_ID_PATTERN = /^([a-z0-9-]{1,64}):(\d{1,78}|0x[0-9a-fA-F]{1,64})$/;

export const NftIdParam = z.object({
  id: z
    .string()
    .regex(NFT_ID_PATTERN, "an NFT id is <collection>:<tokenId> (decimal or 0x-hex), e.g. cosmic:922337203685477580801")
    .openapi({ param: { name: "id", in: "path" }, example: "cosmic:922337203685477580801" }),
});

export type NftId = { collection: string; tokenId: bigint; id: string };

export function parseNftId(raw: string): NftId {
  const match = NFT_ID_PATTERN.exec(raw);
  if (!match) throw badRequest("INVALID_NFT_ID", "an NFT id is <collection>:<tokenId>");
  const tokenId = BigInt(match[2]!);
  if (tokenId >= 1n << 256n) throw badRequest("INVALID_NFT_ID", "token id exceeds uint256");
  return { collection: match[1]!, tokenId, id: formatNftId(match[1]!, tokenId) };
}

export const formatNftId = (collection: string, tokenId: bigint) => `${collection}:${tokenId}`;

export const AddressParam = z
  .string()
  .refine((a) => isAddress(a, { strict: false }), "not an 0x-prefixed 20-byte address")
  .openapi({ example: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });

// EIP-55 needs a keccak per address; lists repeat the same few owners and contracts, so memoise.
const checksums = new Map<string, `0x${string}`>();
export function checksum(a: string): `0x${string}` {
  const key = a.toLowerCase();
  let out = checksums.get(key);
  if (!out) {
    out = getAddress(key);
    if (checksums.size >= 50_000) checksums.clear();
    checksums.set(key, out);
  }
  return out;
}
export const checksumOrNull = (a: string | null | undefined) => (a ? checksum(a) : null);

export const PageQuery = {
  cursor: z.string().max(500).optional().openapi({ description: "opaque cursor from a previous page's nextCursor" }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
};

/** Opaque cursor: base64url JSON. Tampering only yields a 400 (values are re-validated by `decode`). */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badRequest("INVALID_CURSOR", "cursor is not one this API issued");
  }
  if (!check(value)) throw badRequest("INVALID_CURSOR", "cursor is not one this API issued");
  return value;
}

/** Serializable copy: bigints become decimal strings. */
export function toJson<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}
