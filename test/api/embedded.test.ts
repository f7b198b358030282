/** The embedded mode (PGlite store, in-process adapter): a full sign-in, refresh and role grant. */
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestApp, json, siweMessage, type TestApp } from "./helpers.js";

let t: TestApp;
const admin = privateKeyToAccount(generatePrivateKey());
beforeAll(async () => {
  t = await createTestApp({
    kv: "memory",
    store: "pglite",
    chains: [{ chainId: 31337, rpcUrl: "http://127.0.0.1:9" }],
    env: { ADMIN_ADDRESSES: admin.address },
  });
});
afterAll(async () => {
  await t?.close();
});

async function login(account: ReturnType<typeof privateKeyToAccount>) {
  const { nonce } = (await (await t.app.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
  const message = siweMessage({ address: account.address, nonce, chainId: 31337 });
  const res = await t.app.request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
  expect(res.status).toBe(200);
  return (await res.json()) as { accessToken: string; refreshToken: string; roles: string[] };
}

it("signs in, refreshes, grants a role and reads it back on PGlite", async () => {
  const adminPair = await login(admin);
  expect(adminPair.roles).toEqual(["user", "admin"]);
  const again = await login(admin); // second sign-in: upsert keeps roles, bumps lastSignInAt
  expect(again.roles).toEqual(["user", "admin"]);
  const user = privateKeyToAccount(generatePrivateKey());
  const pair = await login(user);
  const grant = await t.app.request(`/users/${user.address}/roles/minter`, { method: "PUT", headers: { authorization: `Bearer ${adminPair.accessToken}` } });
  expect(grant.status).toBe(200);
  const refreshed = await t.app.request("/auth/refresh", json({ refreshToken: pair.refreshToken }));
  expect(((await refreshed.json()) as { roles: string[] }).roles).toEqual(["user", "minter"]);
  const me = await t.app.request("/auth/me", { headers: { authorization: `Bearer ${again.accessToken}` } });
  const body = (await me.json()) as { firstSignInAt: string; lastSignInAt: string };
  expect(Date.parse(body.lastSignInAt)).toBeGreaterThanOrEqual(Date.parse(body.firstSignInAt));
});
