/**
 * HTTP foundation: OpenAPI document and docs page, uniform JSON errors (404, malformed JSON, validation,
 * body limit, 429 + Retry-After, 503 when a dependency is down), request ids, no secrets in logs, and
 * random input never producing a 5xx.
 */
import fc from "fast-check";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createPostgresStore } from "../../offchain/store.js";
import { createTestApp, json, siweMessage, type TestApp } from "./helpers.js";

const CHAIN_ID = 31337;

describe("http foundation", () => {
  let t: TestApp;
  beforeAll(async () => {
    // No anvil needed: EOA signatures are checked locally; the RPC URL is never called here.
    t = await createTestApp({ kv: "redis", chains: [{ chainId: CHAIN_ID, rpcUrl: "http://127.0.0.1:9" }] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("serves the OpenAPI document built from the route declarations, and /docs", async () => {
    const res = await t.app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const [path, method] of [
      ["/auth/nonce/{address}", "get"],
      ["/auth/login", "post"],
      ["/auth/verify", "post"],
      ["/auth/refresh", "post"],
      ["/auth/logout", "post"],
      ["/auth/me", "get"],
      ["/users/me", "patch"],
      ["/users/{address}/roles/{role}", "put"],
      ["/users/{address}/roles/{role}", "delete"],
      ["/auth/api-keys", "post"],
      ["/auth/api-keys/{id}", "delete"],
      ["/.well-known/jwks.json", "get"],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["bearerAuth", "apiKey"]));
    expect(doc.components.schemas.Error).toBeDefined();
    const docs = await t.app.request("/docs");
    expect(docs.headers.get("content-type")).toContain("text/html");
    const html = await docs.text();
    expect(html).toContain("openapi.json");
    // Swagger UI is served from the swagger-ui-dist package (works offline), not from a CDN.
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await t.app.request("/docs/assets/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toContain("javascript");
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await t.app.request("/docs/assets/swagger-ui.css")).status).toBe(200);
  });

  it("answers JSON errors: unknown route, malformed JSON, wrong content type, validation, body too large", async () => {
    const notFound = await t.app.request("/nope");
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { code: "ROUTE_NOT_FOUND" } });

    const malformed = await t.app.request("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: "MALFORMED_JSON" } });

    const noType = await t.app.request("/auth/login", { method: "POST", body: JSON.stringify({ message: "a", signature: "0x00" }) });
    expect(noType.status).toBeGreaterThanOrEqual(400);
    expect(noType.status).toBeLessThan(500);
    expect(((await noType.json()) as { error: { code: string } }).error.code).toBeTruthy();

    const badAddress = await t.app.request("/auth/nonce/0x1234");
    expect(badAddress.status).toBe(400);
    const body = (await badAddress.json()) as { error: { code: string; details: { path: string }[] } };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details[0]!.path).toBe("address");

    const huge = await t.app.request("/auth/login", json({ message: "x".repeat(300_000), signature: "0x00" }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });

  it("answers 503 CHAIN_UNAVAILABLE when a signature needs the chain and its RPC is down", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const { nonce } = (await (await t.app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
    const message = siweMessage({ address: account.address, nonce, chainId: CHAIN_ID });
    // Not the address's EOA signature: only the chain can tell whether it is a contract wallet's.
    const res = await t.app.request("/auth/login", json({ message, signature: await other.signMessage({ message }) }));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "CHAIN_UNAVAILABLE" } });
  });

  it("propagates or creates request ids", async () => {
    const own = await t.app.request("/.well-known/jwks.json", { headers: { "x-request-id": "req-123" } });
    expect(own.headers.get("x-request-id")).toBe("req-123");
    const generated = await t.app.request("/.well-known/jwks.json", { headers: { "x-request-id": "bad id with spaces" } });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("never logs access tokens, refresh tokens, signatures, API keys", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const { nonce } = (await (await t.app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
    const message = siweMessage({ address: account.address, nonce, chainId: CHAIN_ID });
    const signature = await account.signMessage({ message });
    const login = (await (await t.app.request("/auth/login", json({ message, signature }))).json()) as { accessToken: string; refreshToken: string };
    await t.app.request("/auth/me", { headers: { authorization: `Bearer ${login.accessToken}` } });
    await t.app.request("/auth/refresh", json({ refreshToken: login.refreshToken }));
    await t.app.request("/auth/api-keys", { headers: { "x-api-key": "clk_thisIsASecretKeyValue1234567890" } });
    // Objects passed to the logger by hand are redacted too.
    t.deps.logger.info(
      { headers: { authorization: "Bearer secret-token", "x-api-key": "clk_secret" }, refreshToken: "crt_secret", signature, privateKey: "0xabc" },
      "manual",
    );

    const all = t.logs.join("\n");
    expect(t.logs.some((l) => l.includes('"path":"/auth/login"'))).toBe(true);
    for (const secret of [
      login.accessToken,
      login.refreshToken,
      signature,
      "clk_thisIsASecretKeyValue1234567890",
      "secret-token",
      "crt_secret",
      "clk_secret",
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain("[redacted]");
  });

  it("random input on every route: never a 5xx, always a JSON error without stack trace", async () => {
    const routes: [string, string][] = [
      ["POST", "/auth/login"],
      ["POST", "/auth/verify"],
      ["POST", "/auth/refresh"],
      ["PATCH", "/users/me"],
      ["POST", "/auth/api-keys"],
    ];
    const anyJson = fc.oneof(
      fc.jsonValue(),
      fc.record({ message: fc.string(), signature: fc.string() }),
      fc.record({
        message: fc.string().map((s) => `x wants you to sign in with your Ethereum account:\n${s}`),
        signature: fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), maxLength: 200 }).map((h) => `0x${h}`),
      }),
      fc.record({ refreshToken: fc.string() }),
      fc.record({ preferences: fc.dictionary(fc.string(), fc.jsonValue()) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), anyJson, fc.constantFrom("", "Bearer x.y.z", "Bearer ", "junk"), async ([method, path], body, authz) => {
        const res = await t.app.request(path, {
          method,
          headers: { "content-type": "application/json", ...(authz ? { authorization: authz } : {}) },
          body: JSON.stringify(body),
        });
        expect(res.status).toBeLessThan(500);
        const text = await res.text();
        if (res.status >= 400) {
          expect(JSON.parse(text).error.code).toMatch(/^[A-Z_]+$/);
          expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
        }
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), async (segment) => {
        const res = await t.app.request(`/auth/nonce/${encodeURIComponent(segment)}`);
        expect(res.status).toBeLessThan(500);
        const res2 = await t.app.request(`/users/${encodeURIComponent(segment)}/roles/${encodeURIComponent(segment)}`, { method: "PUT" });
        expect(res2.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
  });
});

describe("rate limits and dependency outages", () => {
  it("limits /auth/nonce per IP with 429 + Retry-After", async () => {
    const t = await createTestApp({
      kv: "memory",
      env: { AUTH_RATE_LIMIT_PER_ADDRESS: "2", AUTH_RATE_LIMIT_PER_IP: "5", AUTH_RATE_LIMIT_WINDOW_SECONDS: "30" },
    });
    try {
      const a = privateKeyToAccount(generatePrivateKey()).address;
      // Not per address: five nonces for one wallet (more than its per-address budget of 2) are fine.
      for (let i = 0; i < 5; i++) expect((await t.app.request(`/auth/nonce/${a}`)).status).toBe(200);
      const limited = await t.app.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await limited.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    } finally {
      await t.close();
    }
  });

  it("a stranger cannot spend a wallet's sign-in budget; the wallet's own verified sign-ins are limited per address", async () => {
    const env = { AUTH_RATE_LIMIT_PER_ADDRESS: "2", AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_WINDOW_SECONDS: "30" };
    const t = await createTestApp({ kv: "redis", chains: [{ chainId: CHAIN_ID, rpcUrl: "http://127.0.0.1:9" }], env });
    try {
      const victim = privateKeyToAccount(generatePrivateKey());
      const stranger = privateKeyToAccount(generatePrivateKey());
      const nonceFor = async (address: string) => ((await (await t.app.request(`/auth/nonce/${address}`)).json()) as { nonce: string }).nonce;
      // The stranger asks for the victim's nonces and submits messages naming the victim, signed by
      // itself (65 bytes: rejected without RPC) or malformed.
      for (let i = 0; i < 6; i++) {
        const message = siweMessage({ address: victim.address, nonce: await nonceFor(victim.address), chainId: CHAIN_ID });
        const forged = await t.app.request("/auth/login", json({ message, signature: await stranger.signMessage({ message }) }));
        expect([401, 503]).toContain(forged.status);
        // (Not the victim's EOA signature: only its chain could tell a contract wallet's, and that RPC is down here: 503.)
        const verify = await t.app.request(
          "/auth/verify",
          json({ message: siweMessage({ address: victim.address, nonce: await nonceFor(victim.address), chainId: CHAIN_ID }), signature: "0x1234" }),
        );
        expect(verify.status).toBe(503);
      }
      const signIn = async () => {
        const message = siweMessage({ address: victim.address, nonce: await nonceFor(victim.address), chainId: CHAIN_ID });
        return await t.app.request("/auth/login", json({ message, signature: await victim.signMessage({ message }) }));
      };
      expect((await signIn()).status).toBe(200);
      expect((await signIn()).status).toBe(200);
      const third = await signIn();
      expect(third.status).toBe(429);
      expect(await third.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
      // Another wallet is unaffected.
      const other = privateKeyToAccount(generatePrivateKey());
      const message = siweMessage({ address: other.address, nonce: await nonceFor(other.address), chainId: CHAIN_ID });
      expect((await t.app.request("/auth/login", json({ message, signature: await other.signMessage({ message }) }))).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("brute force stays bounded: failed sign-ins count against the IP and each burns its nonce", async () => {
    const t = await createTestApp({
      kv: "memory",
      chains: [{ chainId: CHAIN_ID, rpcUrl: "http://127.0.0.1:9" }],
      env: { AUTH_RATE_LIMIT_PER_IP: "4", AUTH_RATE_LIMIT_WINDOW_SECONDS: "30" },
    });
    try {
      const victim = privateKeyToAccount(generatePrivateKey()).address;
      const { nonce } = (await (await t.app.request(`/auth/nonce/${victim}`)).json()) as { nonce: string };
      const message = siweMessage({ address: victim, nonce, chainId: CHAIN_ID });
      const first = await t.app.request("/auth/login", json({ message, signature: `0x${"11".repeat(65)}` }));
      expect([401, 503]).toContain(first.status);
      const again = await t.app.request("/auth/login", json({ message, signature: `0x${"22".repeat(65)}` }));
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe("SIWE_NONCE_REUSED");
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await t.app.request("/auth/login", json({ message, signature: "0x00" }))).status);
      expect(statuses.at(-1)).toBe(429);
    } finally {
      await t.close();
    }
  });

  it("answers 503 when Postgres or Redis is unreachable", async () => {
    const t = await createTestApp({ kv: "memory" });
    const deadStore = createPostgresStore("postgresql://root@127.0.0.1:1/none");
    const deadKv = new RedisKeyValueStore("redis://127.0.0.1:1", "x:");
    try {
      const app1 = buildApp({ ...t.deps, store: deadStore });
      const r1 = await app1.request("/auth/refresh", json({ refreshToken: "crt_whatever" }));
      expect(r1.status).toBe(503);
      expect(await r1.json()).toMatchObject({ error: { code: "DEPENDENCY_UNAVAILABLE" } });
      const app2 = buildApp({ ...t.deps, kv: deadKv });
      const r2 = await app2.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`);
      expect(r2.status).toBe(503);
    } finally {
      await deadStore.close();
      await deadKv.close();
      await t.close();
    }
  });
});
