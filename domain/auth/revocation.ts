/**
 * Revocations announced to every process on the `auth:revocations` pub/sub channel (the key-value
 * store adds REDIS_PREFIX), so that a revoked session's WebSockets close on every replica at once
 * (realtime/server.ts): a session (logout, refresh-token reuse) or every token of an address issued
 * before a role change. The durable records are the Redis keys the AuthService checks on every
 * request; the message only tells open sockets.
 */
import { z } from "zod";

export const REVOCATION_CHANNEL = "auth:revocations";

const Revocation = z.union([
  z.object({ sid: z.string().min(1).max(100), reason: z.enum(["logout", "refresh_token_reuse"]) }),
  z.object({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/), before: z.number().int().nonnegative(), reason: z.literal("roles_changed") }),
]);
export type Revocation = z.infer<typeof Revocation>;

export function parseRevocation(message: string): Revocation | undefined {
  try {
    const parsed = Revocation.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
