/**
 * Wire protocol of the realtime service (docs/realtime.md).
 *
 * Client → server: `{"type":"subscribe","rooms":[...]}`, `{"type":"unsubscribe","rooms":[...]}`,
 * `{"type":"ping"}`. Server → client: `welcome`, `subscribed`, `unsubscribed`, `pong`, `error`, and
 * pushes `{ type, id, rooms, data }` (rooms = the client's rooms the push was addressed to).
 *
 * Publishers (notifier, API routes) send the envelope `{ type, rooms, data, id? }` on the
 * `realtime` pub/sub channel; every replica fans it out to its own sockets.
 */
import { getAddress, isAddress } from "viem";
import { z } from "zod";

export const REALTIME_CHANNEL = "realtime";
/** "Something changed that no index commit announces" (a tracker stored bridge progress): notifiers tick. */
export const REALTIME_WAKE_CHANNEL = "realtime:wake";

export const PUSH_TYPES = [
  "nft:minted",
  "nft:transferred",
  "nft:burned",
  "bridge:initiated",
  "bridge:updated",
  "bridge:completed",
  "bridge:failed",
  "bridge:stuck",
  "event:registered",
  "event:attended",
  "nft:metadata",
  "mint:completed",
  "mint:failed",
  "reorg",
] as const;

/** `seq`: the resume log entry id, set by realtime/pushLog.ts on the channel message. */
export type Envelope = { type: string; rooms: string[]; data: Record<string, unknown>; id?: string; seq?: string };

const ROOM_ID = /^[\w.:-]{1,100}$/;

/**
 * Canonical room name, or undefined when invalid: `user:<address>` (checksummed), `event:<id>`,
 * `collection:<slug>`, `bridge:<guid | source tx hash | operation id>` (hashes lower-case),
 * `nft:<collection>:<tokenId>`.
 */
export function canonicalRoom(room: unknown): string | undefined {
  if (typeof room !== "string" || room.length > 120) return undefined;
  const i = room.indexOf(":");
  if (i < 1) return undefined;
  const kind = room.slice(0, i);
  const rest = room.slice(i + 1);
  switch (kind) {
    case "user":
      return isAddress(rest, { strict: false }) ? `user:${getAddress(rest)}` : undefined;
    case "bridge":
      if (/^0x[0-9a-fA-F]{64}$/.test(rest)) return `bridge:${rest.toLowerCase()}`;
      return ROOM_ID.test(rest) ? `bridge:${rest}` : undefined;
    case "event":
    case "collection":
      return ROOM_ID.test(rest) ? `${kind}:${rest}` : undefined;
    case "nft":
      return /^[\w.-]{1,64}:\d{1,78}$/.test(rest) ? `nft:${rest}` : undefined;
    default:
      return undefined;
  }
}

export const ClientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), rooms: z.array(z.string()).min(1).max(100) }),
  z.object({ type: z.literal("unsubscribe"), rooms: z.array(z.string()).min(1).max(100) }),
  z.object({ type: z.literal("ping") }),
  // Resume after the last push received: rooms (optional) are joined first, then the missed pushes
  // of the socket's rooms are replayed in order (or `resync` when the log no longer has that id).
  z.object({ type: z.literal("resume"), after: z.string().min(1).max(300), rooms: z.array(z.string()).max(100).optional() }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Close codes (4000-4999 are application codes). */
export const CLOSE = {
  /** The client did not read fast enough: its send buffer exceeded REALTIME_MAX_BUFFER_BYTES. */
  SLOW_CONSUMER: 4008,
  /** The access token expired (reconnect with a fresh one). */
  TOKEN_EXPIRED: 4001,
  /**
   * The same code when the token stopped being valid before its expiry: its session was revoked
   * (logout, refresh-token reuse: sign in again) or the account's roles changed (refresh, then
   * reconnect). The close reason says which.
   */
  TOKEN_REVOKED: 4001,
  /** No pong to the last heartbeat ping. */
  HEARTBEAT_TIMEOUT: 4002,
  /** Too many protocol errors. */
  POLICY: 1008,
  /** Server shutting down. */
  GOING_AWAY: 1001,
} as const;

/** Parses an envelope from the pub/sub channel; undefined when malformed (logged by the caller). */
export function parseEnvelope(message: string): Envelope | undefined {
  try {
    const value = JSON.parse(message) as Envelope;
    if (typeof value?.type !== "string" || !Array.isArray(value.rooms)) return undefined;
    const rooms = value.rooms.map(canonicalRoom).filter((r): r is string => r !== undefined);
    return {
      type: value.type,
      rooms,
      data: value.data && typeof value.data === "object" ? value.data : {},
      ...(typeof value.id === "string" ? { id: value.id } : {}),
      ...(typeof value.seq === "string" ? { seq: value.seq } : {}),
    };
  } catch {
    return undefined;
  }
}
