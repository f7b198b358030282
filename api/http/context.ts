/** Types shared by every route: the Hono env (context variables) and the authenticated principal. */
import type { Logger } from "../../infra/logger.js";
import type { Principal } from "../../domain/auth/principal.js";
import type { RequestDeps } from "../../domain/deps.js";

export type { RequestDeps, ServiceDeps } from "../../domain/deps.js";

// Who a request acts as lives with auth (domain/auth/principal.ts); re-exported for the routes.
export { ROLES, type Role, type Principal } from "../../domain/auth/principal.js";

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
