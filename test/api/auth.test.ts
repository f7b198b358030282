/**
 * Auth service end to end through app.request: SIWE (EOA, ERC-1271, ERC-6492 on anvil), sessions
 * and refresh rotation, JWT checks, roles and API keys; against real Postgres and both Redis modes.
 */
import { SignJWT, generateKeyPair } from "jose";
import { type Hex, serializeErc6492Signature } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devnetAccounts } from "../../devnet/accounts.js";
import { type AnvilProcess, freePort, startAnvil } from "../../devnet/anvil.js";
import { deployWalletFixtures } from "./fixtures/wallet.js";
import { buildApp } from "../../api/app.js";
import { createTestApp, json, type KvMode, siweMessage, type TestApp } from "./helpers.js";

const CHAIN_ID = 31337;
let anvil: AnvilProcess;
let fixtures: Awaited<ReturnType<typeof deployWalletFixtures>>;
const [deployer, owner] = devnetAccounts(2);
const ownerAccount = privateKeyToAccount(owner!.privateKey);

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort(), chainId: CHAIN_ID });
  fixtures = await deployWalletFixtures(anvil.rpcUrl, deployer!.privateKey, owner!.address);
});
afterAll(async () => {
  await anvil?.stop();
});

describe.each<KvMode>(["redis", "memory"])("auth with %s key-value store", (mode) => {
  let t: TestApp;
  const admin = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    t = await createTestApp({ kv: mode, chains: [{ chainId: CHAIN_ID, rpcUrl: anvil.rpcUrl }], env: { ADMIN_ADDRESSES: admin.address.toLowerCase() } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const req = (path: string, init?: RequestInit) => t.app.request(path, init);
  const getNonce = async (address: string) => {
    const res = await req(`/auth/nonce/${address}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { nonce: string; expiresAt: string; issuedAt: string; domain: string; uri: string };
  };
  type Signer = { address: Hex; signMessage(a: { message: string }): Promise<Hex> };
  const signIn = async (account: Signer, overrides: Partial<Parameters<typeof siweMessage>[0]> = {}) => {
    const { nonce } = await getNonce(account.address);
    const message = siweMessage({ address: account.address, nonce, chainId: CHAIN_ID, ...overrides });
    const signature = await account.signMessage({ message });
    return { message, signature, nonce };
  };
  const login = async (account: Signer) => {
    const { message, signature } = await signIn(account);
    const res = await req("/auth/login", json({ message, signature }));
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { accessToken: string; refreshToken: string; sessionId: string; roles: string[]; address: string };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const expectError = async (res: Response, status: number, code: string) => {
    const body = (await res.json()) as { error?: { code: string; message: string } };
    expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
    expect(typeof body.error?.message).toBe("string");
  };

  it("happy path: nonce → login → me → refresh → reuse revokes family → logout", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const nonceRes = await getNonce(account.address.toLowerCase());
    expect(nonceRes.nonce).toMatch(/^[A-Za-z0-9]{8,}$/);
    expect(Date.parse(nonceRes.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(nonceRes.domain).toBe("app.cosmic.test");

    const pair = await login(account);
    expect(pair.address).toBe(account.address);
    expect(pair.roles).toEqual(["user"]);

    const me = await req("/auth/me", { headers: bearer(pair.accessToken) });
    expect(me.status).toBe(200);
    const meBody = (await me.json()) as { address: string; roles: string[]; firstSignInAt: string; lastSignInAt: string };
    expect(meBody).toMatchObject({ address: account.address, roles: ["user"] });
    expect(meBody.firstSignInAt).toBeTruthy();

    const patched = await t.app.request("/users/me", {
      method: "PATCH",
      headers: { "content-type": "application/json", ...bearer(pair.accessToken) },
      body: JSON.stringify({ preferences: { theme: "dark", lang: "fr" } }),
    });
    expect(patched.status).toBe(200);
    const removed = await t.app.request("/users/me", {
      method: "PATCH",
      headers: { "content-type": "application/json", ...bearer(pair.accessToken) },
      body: JSON.stringify({ preferences: { lang: null } }),
    });
    expect(((await removed.json()) as { preferences: unknown }).preferences).toEqual({ theme: "dark" });

    const r1 = await req("/auth/refresh", json({ refreshToken: pair.refreshToken }));
    expect(r1.status).toBe(200);
    const pair2 = (await r1.json()) as typeof pair;
    expect(pair2.refreshToken).not.toBe(pair.refreshToken);
    expect(pair2.sessionId).toBe(pair.sessionId);
    const r2 = await req("/auth/refresh", json({ refreshToken: pair2.refreshToken }));
    expect(r2.status).toBe(200);
    const pair3 = (await r2.json()) as typeof pair;

    const r3 = await req("/auth/refresh", json({ refreshToken: pair3.refreshToken }));
    expect(r3.status).toBe(200);
    const pair4 = (await r3.json()) as typeof pair;

    // pair2's refresh token is spent and its successor was used too (no grace) → family revoked.
    await expectError(await req("/auth/refresh", json({ refreshToken: pair2.refreshToken })), 401, "REFRESH_TOKEN_REUSED");
    await expectError(await req("/auth/refresh", json({ refreshToken: pair4.refreshToken })), 401, "SESSION_REVOKED");
    await expectError(await req("/auth/me", { headers: bearer(pair4.accessToken) }), 401, "SESSION_REVOKED");

    // A new session, then logout.
    const fresh = await login(account);
    const out = await req("/auth/logout", { method: "POST", headers: bearer(fresh.accessToken) });
    expect(out.status).toBe(200);
    await expectError(await req("/auth/me", { headers: bearer(fresh.accessToken) }), 401, "SESSION_REVOKED");
    await expectError(await req("/auth/refresh", json({ refreshToken: fresh.refreshToken })), 401, "SESSION_REVOKED");
  });

  it("refresh grace window: a retried rotation (lost response) succeeds once, its unused successor is retired", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const pair = await login(account);
    const lost = await req("/auth/refresh", json({ refreshToken: pair.refreshToken }));
    const lostPair = (await lost.json()) as typeof pair;
    const retry = await req("/auth/refresh", json({ refreshToken: pair.refreshToken }));
    expect(retry.status).toBe(200);
    const retried = (await retry.json()) as typeof pair;
    // The never-delivered successor now counts as spent: presenting it revokes the family.
    await expectError(await req("/auth/refresh", json({ refreshToken: lostPair.refreshToken })), 401, "REFRESH_TOKEN_REUSED");
    await expectError(await req("/auth/refresh", json({ refreshToken: retried.refreshToken })), 401, "SESSION_REVOKED");
  });

  it("ERC-1271 contract wallet signs in (verified on its chain)", async () => {
    const wallet: Signer = { address: fixtures.walletAddress, signMessage: ({ message }) => ownerAccount.signMessage({ message }) };
    const pair = await login(wallet);
    expect(pair.address).toBe(fixtures.walletAddress);
    // The owner's signature does not make another contract address valid.
    const other = privateKeyToAccount(generatePrivateKey());
    const { message, signature } = await signIn({ address: fixtures.factoryAddress, signMessage: ({ message }) => other.signMessage({ message }) });
    await expectError(await req("/auth/login", json({ message, signature })), 401, "SIWE_INVALID_SIGNATURE");
  });

  it("ERC-6492 counterfactual wallet signs in before deployment", async () => {
    const { address, factoryData } = fixtures.counterfactual(`salt-${mode}`);
    expect(await fixtures.publicClient.getCode({ address })).toBeUndefined();
    const wallet: Signer = {
      address,
      signMessage: async ({ message }) =>
        serializeErc6492Signature({ address: fixtures.factoryAddress, data: factoryData, signature: await ownerAccount.signMessage({ message }) }),
    };
    const pair = await login(wallet);
    expect(pair.address).toBe(address);
    // /auth/verify answers the same without a session.
    const { message, signature } = await signIn(wallet);
    const res = await req("/auth/verify", json({ message, signature }));
    expect(await res.json()).toEqual({ valid: true, address, chainId: CHAIN_ID });
  });

  describe("SIWE rejections", () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const attempt = async (overrides: Partial<Parameters<typeof siweMessage>[0]>, transform?: (m: string) => string) => {
      const { message, signature } = await signIn(account, overrides);
      const m = transform ? transform(message) : message;
      const sig = transform ? await account.signMessage({ message: m }) : signature;
      return await req("/auth/login", json({ message: m, signature: sig }));
    };
    const minutes = (n: number) => new Date(Date.now() + n * 60_000);

    it("malformed message and missing fields", async () => {
      await expectError(await req("/auth/login", json({ message: "hello", signature: "0x1234" })), 400, "SIWE_MALFORMED_MESSAGE");
      await expectError(await attempt({}, (m) => m.replace(/\nURI: .*/, "")), 400, "SIWE_MISSING_FIELD");
      await expectError(await attempt({}, (m) => m.replace(/\nNonce: .*/, "")), 400, "SIWE_MISSING_FIELD");
      await expectError(await attempt({}, (m) => m.replace(/Chain ID: .*/, "Chain ID: abc")), 400, "SIWE_MALFORMED_MESSAGE");
      await expectError(await attempt({}, (m) => m.replace(account.address, account.address.toLowerCase())), 400, "SIWE_MALFORMED_MESSAGE");
      await expectError(await req("/auth/login", json({ message: "x" })), 400, "VALIDATION_FAILED");
      await expectError(await req("/auth/login", json({ signature: "0x12" })), 400, "VALIDATION_FAILED");
    });
    it("wrong domain, URI, version, chain", async () => {
      await expectError(await attempt({ domain: "evil.example" }), 422, "SIWE_DOMAIN_MISMATCH");
      await expectError(await attempt({}, (m) => `http://${m}`), 422, "SIWE_DOMAIN_MISMATCH"); // scheme ≠ the URI's
      await expectError(await attempt({ uri: "https://evil.example/login" }), 422, "SIWE_URI_MISMATCH");
      await expectError(await attempt({}, (m) => m.replace("Version: 1", "Version: 2")), 422, "SIWE_UNSUPPORTED_VERSION");
      await expectError(await attempt({ chainId: 1 }), 422, "SIWE_CHAIN_NOT_SUPPORTED");
    });
    it("time checks: future issuedAt, expired, notBefore in the future, issuedAt older than the nonce", async () => {
      await expectError(await attempt({ issuedAt: minutes(5) }), 401, "SIWE_ISSUED_IN_FUTURE");
      await expectError(await attempt({ issuedAt: minutes(-10), expirationTime: minutes(-1) }), 401, "SIWE_EXPIRED");
      await expectError(await attempt({ notBefore: minutes(5) }), 401, "SIWE_NOT_YET_VALID");
      await expectError(await attempt({ issuedAt: minutes(-30) }), 401, "SIWE_ISSUED_BEFORE_NONCE");
      // A small skew is tolerated.
      expect((await attempt({ issuedAt: new Date(Date.now() + 20_000), expirationTime: minutes(5), notBefore: new Date(Date.now() + 10_000) })).status).toBe(
        200,
      );
    });
    it("nonces: unknown, reused, another address's", async () => {
      const message = siweMessage({ address: account.address, nonce: "NotIssuedByUs123", chainId: CHAIN_ID });
      await expectError(await req("/auth/login", json({ message, signature: await account.signMessage({ message }) })), 401, "SIWE_NONCE_UNKNOWN");

      const ok = await signIn(account);
      expect((await req("/auth/login", json(ok))).status).toBe(200);
      await expectError(await req("/auth/login", json(ok)), 401, "SIWE_NONCE_REUSED");

      const other = privateKeyToAccount(generatePrivateKey());
      const { nonce } = await getNonce(other.address);
      const stolen = siweMessage({ address: account.address, nonce, chainId: CHAIN_ID });
      await expectError(
        await req("/auth/login", json({ message: stolen, signature: await account.signMessage({ message: stolen }) })),
        401,
        "SIWE_NONCE_ADDRESS_MISMATCH",
      );
    });
    it("concurrent logins with one nonce: exactly one succeeds", async () => {
      const a = await signIn(account);
      const results = await Promise.all(Array.from({ length: 6 }, () => req("/auth/login", json({ message: a.message, signature: a.signature }))));
      expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    });
    it("signatures: another key, a different message; the nonce is consumed by a failed attempt", async () => {
      const other = privateKeyToAccount(generatePrivateKey());
      const a = await signIn(account);
      await expectError(
        await req("/auth/login", json({ message: a.message, signature: await other.signMessage({ message: a.message }) })),
        401,
        "SIWE_INVALID_SIGNATURE",
      );
      // Same nonce again with the right signature: consumed by the failed attempt.
      await expectError(await req("/auth/login", json({ message: a.message, signature: a.signature })), 401, "SIWE_NONCE_REUSED");

      const b = await signIn(account);
      const otherMessage = b.message.replace("Sign in to Cosmic Loop", "Sign in to something else");
      await expectError(
        await req("/auth/login", json({ message: b.message, signature: await account.signMessage({ message: otherMessage }) })),
        401,
        "SIWE_INVALID_SIGNATURE",
      );

      const c = await signIn(account);
      await expectError(await req("/auth/login", json({ message: c.message, signature: "0xdeadbeef" })), 401, "SIWE_INVALID_SIGNATURE");

      const d = await signIn(account);
      const res = await req("/auth/verify", json({ message: d.message, signature: await other.signMessage({ message: d.message }) }));
      expect(await res.json()).toMatchObject({ valid: false, address: account.address, reason: { code: "SIWE_INVALID_SIGNATURE" } });
    });
  });

  describe("access tokens", () => {
    it("rejects alg none, a wrong key, a wrong kid, expired, wrong audience/issuer, garbage", async () => {
      const account = privateKeyToAccount(generatePrivateKey());
      const pair = await login(account);
      const [h, p] = pair.accessToken.split(".");
      const header = JSON.parse(Buffer.from(h!, "base64url").toString());
      const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const me = (token: string) => req("/auth/me", { headers: bearer(token) });

      await expectError(await me(`${enc({ alg: "none", typ: "JWT" })}.${p}.`), 401, "TOKEN_INVALID");
      await expectError(await me(`${h}.${enc({ ...payload, roles: ["admin"] })}.${pair.accessToken.split(".")[2]}`), 401, "TOKEN_INVALID");

      const { privateKey } = await generateKeyPair("ES256");
      const forge = (claims: Record<string, unknown>, kid = header.kid as string) =>
        new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey);
      await expectError(await me(await forge(payload)), 401, "TOKEN_INVALID"); // right kid, wrong key
      await expectError(await me(await forge(payload, "unknown-kid")), 401, "TOKEN_INVALID");

      const keys = t.deps.keys as unknown as { signing: { key: Parameters<SignJWT["sign"]>[0]; kid: string } };
      const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: keys.signing.kid }).sign(keys.signing.key);
      const now = Math.floor(Date.now() / 1000);
      await expectError(await me(await sign({ ...payload, iat: now - 3600, exp: now - 1800 })), 401, "TOKEN_EXPIRED");
      await expectError(await me(await sign({ ...payload, aud: "someone-else" })), 401, "TOKEN_INVALID");
      await expectError(await me(await sign({ ...payload, iss: "https://evil.example" })), 401, "TOKEN_INVALID");
      expect((await me(await sign(payload))).status).toBe(200); // control: our key, our claims
      await expectError(await me("not-a-jwt"), 401, "TOKEN_INVALID");
      await expectError(await req("/auth/me"), 401, "UNAUTHENTICATED");
      await expectError(await req("/auth/me", { headers: { authorization: "Basic Zm9vOmJhcg==" } }), 401, "TOKEN_INVALID");
    });

    it("publishes the verification key in the JWKS, without private parts", async () => {
      const res = await req("/.well-known/jwks.json");
      const { keys } = (await res.json()) as { keys: Record<string, string>[] };
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(keys[0]!.d).toBeUndefined();
    });
  });

  describe("roles and API keys", () => {
    it("admins from config grant/revoke roles; others get 403", async () => {
      const adminPair = await login(admin);
      expect(adminPair.roles).toEqual(["user", "admin"]);
      const alice = privateKeyToAccount(generatePrivateKey());
      const alicePair = await login(alice);

      await expectError(await req(`/users/${alice.address}/roles/organizer`, { method: "PUT", headers: bearer(alicePair.accessToken) }), 403, "MISSING_ROLE");
      const granted = await req(`/users/${alice.address.toLowerCase()}/roles/organizer`, { method: "PUT", headers: bearer(adminPair.accessToken) });
      expect(granted.status).toBe(200);
      expect(((await granted.json()) as { roles: string[] }).roles).toEqual(["user", "organizer"]);
      // Roles reach the token at the next refresh.
      const refreshed = (await (await req("/auth/refresh", json({ refreshToken: alicePair.refreshToken }))).json()) as { roles: string[] };
      expect(refreshed.roles).toEqual(["user", "organizer"]);

      await expectError(await req(`/users/${alice.address}/roles/wizard`, { method: "PUT", headers: bearer(adminPair.accessToken) }), 400, "VALIDATION_FAILED");
      await expectError(
        await req(`/users/${admin.address}/roles/admin`, { method: "DELETE", headers: bearer(adminPair.accessToken) }),
        409,
        "ROLE_FROM_CONFIG",
      );
      const revoked = await req(`/users/${alice.address}/roles/organizer`, { method: "DELETE", headers: bearer(adminPair.accessToken) });
      expect(((await revoked.json()) as { roles: string[] }).roles).toEqual(["user"]);
    });

    it("ADMIN_ADDRESSES is the source of truth for config admins at every sign-in and refresh; API-granted admins stay", async () => {
      const configured = await login(admin);
      expect(configured.roles).toEqual(["user", "admin"]);
      const granted = privateKeyToAccount(generatePrivateKey());
      expect((await req(`/users/${granted.address}/roles/admin`, { method: "PUT", headers: bearer(configured.accessToken) })).status).toBe(200);
      // The same store and Redis, the admin removed from the configuration (a redeploy).
      const unlisted = buildApp({ ...t.deps, config: { ...t.deps.config, auth: { ...t.deps.config.auth, adminAddresses: [] } } });
      const loginOn = async (app: typeof unlisted, account: Signer) => {
        const { nonce } = (await (await app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
        const message = siweMessage({ address: account.address, nonce, chainId: CHAIN_ID });
        const res = await app.request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
        expect(res.status).toBe(200);
        return (await res.json()) as { accessToken: string; refreshToken: string; roles: string[] };
      };
      const demoted = await loginOn(unlisted, admin);
      expect(demoted.roles).toEqual(["user"]);
      await expectError(await unlisted.request("/auth/api-keys", { headers: bearer(demoted.accessToken) }), 403, "MISSING_ROLE");
      // The admin's other session's token (issued as admin) no longer works: refresh → no admin.
      await expectError(await unlisted.request("/auth/me", { headers: bearer(configured.accessToken) }), 401, "TOKEN_STALE");
      const refreshed = (await (await unlisted.request("/auth/refresh", json({ refreshToken: configured.refreshToken }))).json()) as { roles: string[] };
      expect(refreshed.roles).toEqual(["user"]);
      expect((await loginOn(unlisted, granted)).roles).toEqual(["user", "admin"]);

      // Listed again: admin at the next sign-in; then removed again, a refresh alone demotes.
      const again = await login(admin);
      expect(again.roles).toEqual(["user", "admin"]);
      const viaRefresh = (await (await unlisted.request("/auth/refresh", json({ refreshToken: again.refreshToken }))).json()) as { roles: string[] };
      expect(viaRefresh.roles).toEqual(["user"]);
      expect((await login(admin)).roles).toEqual(["user", "admin"]);
    });

    it("API keys: created by admins, shown once, role-scoped, revocable", async () => {
      const adminPair = await login(admin);
      const create = await req("/auth/api-keys", json({ name: "minter service", roles: ["minter"] }, bearer(adminPair.accessToken)));
      expect(create.status).toBe(201);
      const created = (await create.json()) as { id: string; key: string; roles: string[] };
      expect(created.key).toMatch(/^clk_/);

      const list = (await (await req("/auth/api-keys", { headers: bearer(adminPair.accessToken) })).json()) as { items: Record<string, unknown>[] };
      const listed = list.items.find((k) => k.id === created.id)!;
      expect(JSON.stringify(listed)).not.toContain(created.key);
      expect(listed).not.toHaveProperty("keyHash");

      // A minter key cannot manage keys (admin only) ...
      await expectError(await req("/auth/api-keys", { headers: { "x-api-key": created.key } }), 403, "MISSING_ROLE");
      // ... and is not a wallet session.
      await expectError(await req("/auth/me", { headers: { "x-api-key": created.key } }), 403, "USER_SESSION_REQUIRED");
      // An admin key can.
      const adminKey = (await (await req("/auth/api-keys", json({ name: "ops", roles: ["admin"] }, bearer(adminPair.accessToken)))).json()) as { key: string };
      expect((await req("/auth/api-keys", { headers: { "x-api-key": adminKey.key } })).status).toBe(200);

      expect((await req(`/auth/api-keys/${created.id}`, { method: "DELETE", headers: bearer(adminPair.accessToken) })).status).toBe(200);
      await expectError(
        await req(`/auth/api-keys/${created.id}`, { method: "DELETE", headers: bearer(adminPair.accessToken) }),
        409,
        "API_KEY_ALREADY_REVOKED",
      );
      await expectError(await req("/auth/api-keys", { headers: { "x-api-key": created.key } }), 401, "API_KEY_REVOKED");
      await expectError(await req("/auth/api-keys", { headers: { "x-api-key": "clk_wrongwrongwrongwrongwrongwrong" } }), 401, "API_KEY_INVALID");
      await expectError(
        await req(`/auth/api-keys/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(adminPair.accessToken) }),
        404,
        "API_KEY_NOT_FOUND",
      );
    });
  });
});
