/** Access-token keys (dev key persistence, kid rotation, EdDSA) and production dependency wiring. */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { JwtKeys } from "../../domain/auth/jwt.js";
import { createDependencies } from "../../app/deps.js";
import { ConfigError, loadConfig } from "../../infra/config/index.js";
import { createLogger } from "../../infra/logger.js";
import { RedisKeyValueStore } from "../../infra/redis.js";
import { createTestDatabase, logCollector, REDIS_URL } from "./helpers.js";

const opts = { issuer: "https://app.cosmic.test/login", audience: "cosmic-loop-api", ttlSeconds: 900 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "cosmic-jwt-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const claims = { sub: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const, sid: crypto.randomUUID(), roles: ["user" as const] };

describe("JWT keys", () => {
  it("generates a development key once, persists it (0600) and reuses it", async () => {
    const dir = tmp();
    const created: boolean[] = [];
    const a = await JwtKeys.load(undefined, dir, opts, (_f, c) => created.push(c));
    const b = await JwtKeys.load(undefined, dir, opts, (_f, c) => created.push(c));
    expect(created).toEqual([true, false]);
    expect(a.jwks()).toEqual(b.jwks());
    expect(statSync(path.join(dir, "jwt-dev-keys.json")).mode & 0o777).toBe(0o600);
    expect(await b.verify(await a.sign(claims))).toMatchObject({ sub: claims.sub, sid: claims.sid, roles: ["user"] });
  });

  it("rotates by kid: old tokens verify while the old key is listed, new tokens use the new kid", async () => {
    const k1 = await JwtKeys.generatePrivateJwk();
    const k2 = await JwtKeys.generatePrivateJwk("EdDSA");
    const before = await JwtKeys.fromPrivateJwks([k1], opts);
    const during = await JwtKeys.fromPrivateJwks([k2, k1], opts);
    const after = await JwtKeys.fromPrivateJwks([k2], opts);
    const oldToken = await before.sign(claims);
    const newToken = await during.sign(claims);
    expect(JSON.parse(Buffer.from(newToken.split(".")[0]!, "base64url").toString())).toMatchObject({ alg: "EdDSA", kid: k2.kid });
    expect(during.jwks().keys.map((k) => k.kid)).toEqual([k2.kid, k1.kid]);
    await expect(during.verify(oldToken)).resolves.toMatchObject({ sid: claims.sid });
    await expect(after.verify(newToken)).resolves.toMatchObject({ sid: claims.sid });
    await expect(after.verify(oldToken)).rejects.toMatchObject({ kind: "unauthenticated", code: "TOKEN_INVALID" });
  });

  it("refuses bad key configuration", async () => {
    await expect(JwtKeys.load("not json", tmp(), opts)).rejects.toThrow(ConfigError);
    const { d: _d, ...pub } = await JwtKeys.generatePrivateJwk();
    await expect(JwtKeys.load(JSON.stringify([pub]), tmp(), opts)).rejects.toThrow(/private/);
    await expect(JwtKeys.load(JSON.stringify([{ ...(await JwtKeys.generatePrivateJwk()), alg: "HS256" }]), tmp(), opts)).rejects.toThrow(/unsupported alg/);
  });
});

describe("configuration", () => {
  it("reads chains, admins and limits; rejects bad values", () => {
    const config = loadConfig({
      PONDER_RPC_URL_31338: "http://127.0.0.1:8546",
      PONDER_RPC_URL_31337: "http://127.0.0.1:8545",
      ADMIN_ADDRESSES: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    });
    expect(config.chains.map((c) => c.chainId)).toEqual([31337, 31338]);
    expect(config.auth.adminAddresses).toEqual(["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]);
    expect(config.auth.siweDomain).toBe("localhost:42069");
    expect(config.auth.accessTokenTtlSeconds).toBe(900);
    expect(() => loadConfig({ ADMIN_ADDRESSES: "bob" })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_NONCE_TTL_SECONDS: "soon" })).toThrow(ConfigError);
    expect(() => loadConfig({ PONDER_RPC_URL_1: "not a url" })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_JWT_KEYS/);
  });
});

describe("production dependencies from env", () => {
  it("DATABASE_URL + REDIS_URL → Postgres pool and Redis", async () => {
    const db = await createTestDatabase();
    const prefix = `test:deps:${Date.now()}:`;
    const deps = await createDependencies(
      { NODE_ENV: "test", DATABASE_URL: db.url, REDIS_URL: REDIS_URL, REDIS_PREFIX: prefix, DATA_DIR: tmp() },
      createLogger({ level: "silent" }),
    );
    try {
      expect(deps.store.kind).toBe("postgres");
      expect(deps.kv.kind).toBe("redis");
      const res = await buildApp(deps).request("/auth/nonce/0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
      expect(res.status).toBe(200);
    } finally {
      await deps.close();
      // After close: closing the job queues still writes their BullMQ meta keys under the prefix.
      const leftovers = new RedisKeyValueStore(REDIS_URL, prefix);
      await leftovers.deleteAllWithPrefix();
      await leftovers.close();
      await db.drop();
    }
  });

  it("no DATABASE_URL/REDIS_URL → PGlite in OFFCHAIN_DATA_DIR and the in-process adapter, said in the log", async () => {
    const dir = tmp();
    const { lines, destination } = logCollector();
    const deps = await createDependencies(
      { NODE_ENV: "test", DATA_DIR: dir, OFFCHAIN_DATA_DIR: path.join(dir, "store") },
      createLogger({ level: "info", destination }),
    );
    try {
      expect(deps.store.kind).toBe("pglite");
      expect(deps.kv.kind).toBe("memory");
      expect(statSync(path.join(dir, "store")).isDirectory()).toBe(true);
      const log = lines.join("\n");
      expect(log).toContain("PGlite");
      expect(log).toContain("in-process");
      expect(log).toContain("development signing key");
    } finally {
      await deps.close();
    }
  });
});
