/** Who a request acts as: a signed-in wallet or an API key, with its roles. */
export const ROLES = ["user", "organizer", "minter", "webhooks", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | { kind: "user"; address: `0x${string}`; roles: Role[]; sessionId: string }
  | { kind: "apiKey"; apiKeyId: string; name: string; roles: Role[] };
