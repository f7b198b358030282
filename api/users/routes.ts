/** Account routes: preferences of the signed-in user, role grants by admins. */
import { createRoute, z } from "@hono/zod-openapi";
import { getAddress } from "viem";
import { AddressSchema, RoleSchema, UserSchema } from "../auth/routes.js";
import { requireAuth, requireRole, userPrincipal } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";

const patchMeRoute = createRoute({
  method: "patch",
  path: "/users/me",
  tags: ["users"],
  summary: "Update preferences (shallow merge; a null value removes the key)",
  security: [BEARER],
  middleware: [requireAuth] as const,
  request: {
    body: jsonBody(
      z
        .object({
          preferences: z
            .record(
              z.string().min(1).max(64),
              z.union([z.string().max(2000), z.number(), z.boolean(), z.null(), z.array(z.unknown()).max(100), z.record(z.string(), z.unknown())]),
            )
            .refine((p) => Object.keys(p).length <= 50, "at most 50 keys"),
        })
        .strict()
        .openapi("PatchMeRequest"),
    ),
  },
  responses: { 200: jsonContent(UserSchema, "Updated account"), ...errorResponses(400, 401, 403, 404, 422, 503) },
});

const roleParams = z.object({ address: AddressSchema, role: RoleSchema });

const grantRoute = createRoute({
  method: "put",
  path: "/users/{address}/roles/{role}",
  tags: ["users"],
  summary: "Grant a role (admin); the holder's access tokens issued before are refused (TOKEN_STALE: refresh for the new roles)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: { params: roleParams },
  responses: { 200: jsonContent(UserSchema, "Account with its roles"), ...errorResponses(400, 401, 403, 409, 503) },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/users/{address}/roles/{role}",
  tags: ["users"],
  summary: "Revoke a role (admin); effective at once: the holder's access tokens issued before are refused (TOKEN_STALE) and its sockets close",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: { params: roleParams },
  responses: { 200: jsonContent(UserSchema, "Account with its roles"), ...errorResponses(400, 401, 403, 409, 503) },
});

export function createUserRoutes() {
  const app = createRouter();
  const actor = (p: { kind: "user"; address: string } | { kind: "apiKey"; apiKeyId: string }) => (p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`);

  app.openapi(patchMeRoute, async (c) => {
    const principal = userPrincipal(c);
    return c.json(await c.get("deps").auth.updatePreferences(principal.address, c.req.valid("json").preferences), 200);
  });
  app.openapi(grantRoute, async (c) => {
    const { address, role } = c.req.valid("param");
    return c.json(await c.get("deps").auth.setRole(actor(c.get("principal")), getAddress(address), role, true), 200);
  });
  app.openapi(revokeRoute, async (c) => {
    const { address, role } = c.req.valid("param");
    return c.json(await c.get("deps").auth.setRole(actor(c.get("principal")), getAddress(address), role, false), 200);
  });
  return app;
}
