/** An owner's NFTs across chains, a keyset page at a time (GET /nfts/owner/{address} and GraphQL's nftsByOwner). */
import { requireIndexed } from "../chains/clients.js";
import type { RequestDeps } from "../deps.js";
import { type OwnerCursor, type TokenRow, listOwnerTokens } from "../../read/tokens.js";
import { decodeCursor, encodeCursor } from "./ids.js";

const isOwnerCursor = (v: unknown): v is [number, string, string] =>
  Array.isArray(v) &&
  v.length === 3 &&
  Number.isInteger(v[0]) &&
  typeof v[1] === "string" &&
  /^0x[0-9a-f]{40}$/i.test(v[1]) &&
  typeof v[2] === "string" &&
  /^\d{1,78}$/.test(v[2]);

export const ownerCursorOf = (r: TokenRow) => encodeCursor([r.chainId, r.contract, r.tokenId.toString()]);

/** Up to `limit` tokens present on a chain and owned by `address`, after `cursor` (400 INVALID_CURSOR when not ours). */
export async function ownerNftPage(deps: RequestDeps, address: string, options: { chainId?: number; cursor?: string; limit: number }) {
  const db = requireIndexed(deps);
  let after: OwnerCursor | undefined;
  if (options.cursor) {
    const [chainId, contract, tokenId] = decodeCursor(options.cursor, isOwnerCursor);
    after = { chainId, contract, tokenId: BigInt(tokenId) };
  }
  // One extra row tells whether there is a next page.
  const rows = await listOwnerTokens(db, address, { chainId: options.chainId, after, limit: options.limit + 1 });
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return { rows: page, nextCursor: rows.length > options.limit && last ? ownerCursorOf(last) : null };
}
