/**
 * Attendance NFT ids: derived from (event, attendee), inside the event chain's id range, so the chain
 * itself guarantees one token per attendee: `distribute` skips ids already issued, and a resumed or
 * duplicated distribution can only re-send the same ids.
 */
import { type Address, encodePacked, getAddress, keccak256, slice } from "viem";
import { tokenIdInRange } from "../../chain/onft.js";

/** `tokenIdInRange(eid, n)` with n = the first 64 bits of keccak256(eventId ‖ address). */
export function eventTokenId(eid: number, eventId: string, address: Address): bigint {
  const hash = keccak256(encodePacked(["string", "address"], [eventId.toLowerCase(), getAddress(address)]));
  return tokenIdInRange(eid, BigInt(slice(hash, 0, 8)));
}
