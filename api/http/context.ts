/** Types shared by every route: the Hono env (context variables) and the authenticated principal. */
import type { Config } from "../../infra/config.js";
import type { Logger } from "../../infra/logger.js";
import type { KeyValueStore } from "../../infra/redis.js";
import type { OffchainStore } from "../../offchain/store.js";
import type { AuthService } from "../auth/service.js";

export const ROLES = ["user", "organizer", "minter", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | { kind: "user"; address: `0x${string}`; roles: Role[]; sessionId: string }
  | { kind: "apiKey"; apiKeyId: string; name: string; roles: Role[] };

/** What every handler can reach through `c.get("deps")`. */
export type RequestDeps = {
  config: Config;
  store: OffchainStore;
  kv: KeyValueStore;
  logger: Logger;
  auth: AuthService;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    deps: RequestDeps;
    /** Request-scoped child logger (carries the request id). */
    log: Logger;
    /** Set by requireAuth / requireRole. */
    principal: Principal;
  };
};
