/** Auth routes: SIWE nonce/login/verify, refresh rotation, logout, me, JWKS, API keys. */
import { createRoute, z } from "@hono/zod-openapi";
import { getAddress } from "viem";
import type { Context } from "hono";
import { type AppEnv, ROLES } from "../http/context.js";
import { ServiceError } from "../http/errors.js";
import { clientIp, hitRateLimit, rateLimitByIp, requireAuth, requireRole, userPrincipal } from "../http/middleware.js";
import { API_KEY, BEARER, createRouter, errorResponses, jsonBody, jsonContent } from "../http/openapi.js";
import { peekAddress } from "../../domain/auth/siwe.js";

export const AddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .openapi({ example: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });
export const RoleSchema = z.enum(ROLES).openapi("Role");

const SiweBody = z
  .object({
    message: z.string().min(1).max(8192).openapi({ description: "EIP-4361 message, exactly as signed" }),
    signature: z
      .string()
      .regex(/^0x[0-9a-fA-F]*$/, "must be 0x-prefixed hex")
      .min(4)
      .max(20_000)
      .openapi({ description: "EOA, ERC-1271 or ERC-6492 signature" }),
  })
  .openapi("SiweRequest");

const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ description: "access token lifetime in seconds" }),
    address: AddressSchema,
    roles: z.array(RoleSchema),
    sessionId: z.string().uuid(),
  })
  .openapi("TokenPair");

export const UserSchema = z
  .object({
    address: AddressSchema,
    roles: z.array(RoleSchema),
    preferences: z.record(z.string(), z.unknown()),
    firstSignInAt: z.string().nullable(),
    lastSignInAt: z.string().nullable(),
  })
  .openapi("User");

const ApiKeySchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    prefix: z.string(),
    roles: z.array(RoleSchema),
    createdBy: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

const nonceRoute = createRoute({
  method: "get",
  path: "/auth/nonce/{address}",
  tags: ["auth"],
  summary: "Single-use SIWE nonce bound to an address",
  middleware: [rateLimitByIp("auth-nonce")] as const,
  request: { params: z.object({ address: AddressSchema }) },
  responses: {
    200: jsonContent(
      z.object({
        nonce: z.string(),
        issuedAt: z.string(),
        expiresAt: z.string(),
        domain: z.string(),
        uri: z.string(),
        version: z.literal("1"),
        chainIds: z.array(z.number().int()),
      }),
      "Nonce and the values the SIWE message must carry",
    ),
    ...errorResponses(400, 429, 503),
  },
});

const loginRoute = createRoute({
  method: "post",
  path: "/auth/login",
  tags: ["auth"],
  summary: "Sign in with Ethereum: returns an access JWT and a refresh token",
  middleware: [rateLimitByIp("auth-login")] as const,
  request: { body: jsonBody(SiweBody) },
  responses: { 200: jsonContent(TokenPairSchema, "Signed in"), ...errorResponses(400, 401, 422, 429, 503) },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/auth/verify",
  tags: ["auth"],
  summary: "Verify a SIWE message and signature without opening a session (consumes the nonce)",
  middleware: [rateLimitByIp("auth-login")] as const,
  request: { body: jsonBody(SiweBody) },
  responses: {
    200: jsonContent(
      z.object({
        valid: z.boolean(),
        address: AddressSchema.nullable(),
        chainId: z.number().int().nullable(),
        reason: z.object({ code: z.string(), message: z.string() }).optional(),
      }),
      "Verification outcome",
    ),
    ...errorResponses(400, 429, 503),
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/auth/refresh",
  tags: ["auth"],
  summary: "Rotate a refresh token (reuse of a spent one revokes the session)",
  middleware: [rateLimitByIp("auth-refresh")] as const,
  request: { body: jsonBody(z.object({ refreshToken: z.string().min(1).max(200) }).openapi("RefreshRequest")) },
  responses: { 200: jsonContent(TokenPairSchema, "New token pair"), ...errorResponses(400, 401, 429, 503) },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/auth/logout",
  tags: ["auth"],
  summary: "Revoke the current session",
  security: [BEARER],
  middleware: [requireAuth] as const,
  responses: { 200: jsonContent(z.object({ ok: z.literal(true) }), "Session revoked"), ...errorResponses(401, 403, 503) },
});

const meRoute = createRoute({
  method: "get",
  path: "/auth/me",
  tags: ["auth"],
  summary: "The signed-in account",
  security: [BEARER],
  middleware: [requireAuth] as const,
  responses: {
    200: jsonContent(UserSchema.extend({ sessionId: z.string() }), "The account"),
    ...errorResponses(401, 403, 404, 503),
  },
});

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["auth"],
  summary: "Public keys of access tokens (by kid)",
  responses: { 200: jsonContent(z.object({ keys: z.array(z.record(z.string(), z.unknown())) }), "JWKS") },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/auth/api-keys",
  tags: ["api keys"],
  summary: "Create an API key (admin); the key is shown only in this response",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: {
    body: jsonBody(z.object({ name: z.string().trim().min(1).max(100), roles: z.array(RoleSchema).min(1).max(ROLES.length) }).openapi("CreateApiKeyRequest")),
  },
  responses: {
    201: jsonContent(
      z.object({ id: z.string().uuid(), name: z.string(), key: z.string(), prefix: z.string(), roles: z.array(RoleSchema), createdAt: z.string() }),
      "Created; store the key now",
    ),
    ...errorResponses(400, 401, 403, 503),
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/auth/api-keys",
  tags: ["api keys"],
  summary: "List API keys (admin; hashes and secrets are never returned)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  responses: { 200: jsonContent(z.object({ items: z.array(ApiKeySchema) }), "API keys"), ...errorResponses(401, 403, 503) },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/auth/api-keys/{id}",
  tags: ["api keys"],
  summary: "Revoke an API key (admin)",
  security: [BEARER, API_KEY],
  middleware: [requireRole("admin")] as const,
  request: { params: z.object({ id: z.string().uuid() }) },
  responses: { 200: jsonContent(z.object({ ok: z.literal(true) }), "Revoked"), ...errorResponses(400, 401, 403, 404, 409, 503) },
});

const actorOf = (p: { kind: "user"; address: string } | { kind: "apiKey"; apiKeyId: string }) => (p.kind === "user" ? p.address : `apiKey:${p.apiKeyId}`);

export function createAuthRoutes() {
  const app = createRouter();

  app.openapi(nonceRoute, async (c) => {
    const { auth } = c.get("deps");
    // Limited per IP only (route middleware): a per-address budget here could be spent by anyone
    // for any wallet, locking it out of sign-in. Nonces are independent of each other.
    const address = getAddress(c.req.valid("param").address);
    const { nonce, issuedAt, expiresAt } = await auth.issueNonce(address);
    return c.json(
      {
        nonce,
        issuedAt: issuedAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
        domain: auth.siwe.domain,
        uri: auth.siwe.uri,
        version: "1" as const,
        chainIds: [...auth.siwe.chainIds],
      },
      200,
    );
  });

  /**
   * The per-address budget of sign-ins, spent only by a request whose signature verified: a
   * stranger's attempts (which never verify) cannot use up a wallet's budget. Failed attempts are
   * bounded by the per-IP limit, and each consumes its single-use nonce.
   */
  const perAddress = async (c: Context<AppEnv>, address: string) => {
    const { windowSeconds, perAddress: limit } = c.get("deps").config.auth.rateLimit;
    await hitRateLimit(c, "auth-login:address", address, limit, windowSeconds);
  };

  app.openapi(loginRoute, async (c) => {
    const { auth } = c.get("deps");
    const siwe = await auth.verifySiwe(c.req.valid("json"));
    await perAddress(c, siwe.address);
    const pair = await auth.openSession(siwe, { ip: clientIp(c), userAgent: c.req.header("user-agent") });
    return c.json(pair, 200);
  });

  app.openapi(verifyRoute, async (c) => {
    const { auth } = c.get("deps");
    const body = c.req.valid("json");
    let result;
    try {
      result = await auth.verifySiwe(body);
    } catch (error) {
      // Credential-level rejections are the answer of this route; malformed input stays a 400.
      if (error instanceof ServiceError && (error.kind === "unauthenticated" || error.kind === "unprocessable")) {
        const peeked = peekAddress(body.message);
        return c.json({ valid: false, address: peeked ? getAddress(peeked) : null, chainId: null, reason: { code: error.code, message: error.message } }, 200);
      }
      throw error;
    }
    await perAddress(c, result.address);
    return c.json({ valid: true, address: result.address, chainId: result.chainId }, 200);
  });

  app.openapi(refreshRoute, async (c) => {
    const { auth } = c.get("deps");
    return c.json(await auth.refresh(c.req.valid("json").refreshToken), 200);
  });

  app.openapi(logoutRoute, async (c) => {
    const principal = userPrincipal(c);
    await c.get("deps").auth.logout(principal.sessionId);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(meRoute, async (c) => {
    const principal = userPrincipal(c);
    const user = await c.get("deps").auth.getUser(principal.address);
    if (!user) return c.json({ error: { code: "USER_NOT_FOUND", message: "user not found" } }, 404);
    return c.json({ ...user, sessionId: principal.sessionId }, 200);
  });

  app.openapi(jwksRoute, (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(c.get("deps").auth.keys.jwks(), 200);
  });

  app.openapi(createKeyRoute, async (c) => {
    const { name, roles } = c.req.valid("json");
    return c.json(await c.get("deps").auth.createApiKey(actorOf(c.get("principal")), name, roles), 201);
  });

  app.openapi(listKeysRoute, async (c) => c.json({ items: await c.get("deps").auth.listApiKeys() }, 200));

  app.openapi(revokeKeyRoute, async (c) => {
    await c.get("deps").auth.revokeApiKey(actorOf(c.get("principal")), c.req.valid("param").id);
    return c.json({ ok: true as const }, 200);
  });

  return app;
}
