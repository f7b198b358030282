/**
 * Auth domain logic on the off-chain store and the key-value store: users and roles, sessions with
 * rotating refresh tokens (RFC 9700 reuse detection), API keys. Routes stay thin on top of it.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Config } from "../../infra/config/index.js";
import type { Logger } from "../../infra/logger.js";
import type { KeyValueStore } from "../../infra/redis.js";
import { apiKeys, auditLog, refreshTokens, sessions, users } from "../../offchain/schema.js";
import type { OffchainDb, OffchainStore } from "../../offchain/store.js";
import { type Principal, ROLES, type Role } from "./principal.js";
import { conflict, notFound, unauthorized, unprocessable } from "../../infra/errors.js";
import type { JwtKeys } from "./jwt.js";
import { REVOCATION_CHANNEL, type Revocation } from "./revocation.js";
import { type ChainVerifiers, issueNonce, type SiweSettings, verifySiwe } from "./siwe.js";

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const token = (prefix: string) => `${prefix}_${randomBytes(32).toString("base64url")}`;

export type UserView = {
  address: `0x${string}`;
  roles: Role[];
  preferences: Record<string, unknown>;
  firstSignInAt: string | null;
  lastSignInAt: string | null;
};

export type TokenPair = {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: "Bearer";
  address: `0x${string}`;
  roles: Role[];
  sessionId: string;
};

const revokedSidKey = (sid: string) => `auth:revoked-sid:${sid}`;
/** Milliseconds of the last role change of an address: its access tokens issued before are stale. */
const rolesChangedKey = (address: string) => `auth:roles-changed:${address}`;

type UserRow = typeof users.$inferSelect;

/**
 * The roles of `row` with ADMIN_ADDRESSES applied: a listed address is admin (from config, unless
 * it already held an API-granted admin role); an admin role that came from the list is removed once
 * the address is no longer listed. Undefined when nothing changes.
 */
function withConfigAdmin(row: UserRow, isConfigAdmin: boolean): { roles: Role[]; adminFromConfig: boolean } | undefined {
  const hasAdmin = row.roles.includes("admin");
  if (isConfigAdmin && !hasAdmin) return { roles: sortRoles([...row.roles, "admin"]), adminFromConfig: true };
  if (!isConfigAdmin && hasAdmin && row.adminFromConfig) return { roles: sortRoles(row.roles.filter((r) => r !== "admin")), adminFromConfig: false };
  return undefined;
}

const sortRoles = (roles: Iterable<string>): Role[] => ROLES.filter((r) => new Set(roles).has(r));

function view(row: typeof users.$inferSelect): UserView {
  return {
    address: row.address as `0x${string}`,
    roles: sortRoles(row.roles),
    preferences: row.preferences ?? {},
    firstSignInAt: row.firstSignInAt?.toISOString() ?? null,
    lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
  };
}

export class AuthService {
  readonly siwe: SiweSettings;
  private readonly admins: Set<string>;

  constructor(private readonly deps: { config: Config; store: OffchainStore; kv: KeyValueStore; keys: JwtKeys; verifiers: ChainVerifiers; logger: Logger }) {
    const { auth, chains } = deps.config;
    this.siwe = {
      domain: auth.siweDomain,
      uri: auth.siweUri,
      chainIds: chains.map((c) => c.chainId),
      nonceTtlSeconds: auth.nonceTtlSeconds,
      clockSkewSeconds: auth.clockSkewSeconds,
    };
    this.admins = new Set(auth.adminAddresses);
  }

  get keys() {
    return this.deps.keys;
  }
  private get db(): OffchainDb {
    return this.deps.store.db;
  }

  issueNonce(address: `0x${string}`) {
    return issueNonce(this.deps.kv, address, this.siwe.nonceTtlSeconds);
  }

  verifySiwe(input: { message: string; signature: string }) {
    return verifySiwe(input, { kv: this.deps.kv, settings: this.siwe, verifiers: this.deps.verifiers });
  }

  /** After a verified SIWE message: upserts the user (ADMIN_ADDRESSES applied), opens a session, returns the token pair. */
  async openSession(siwe: { address: `0x${string}`; chainId: number }, meta: { ip?: string; userAgent?: string }): Promise<TokenPair> {
    const now = new Date();
    const sessionId = randomUUID();
    const refresh = token("crt");
    const { auth } = this.deps.config;
    const { user, rolesChanged } = await this.db.transaction(async (tx) => {
      await tx
        .insert(users)
        .values({ address: siwe.address, roles: ["user"], preferences: {}, firstSignInAt: now })
        .onConflictDoNothing();
      const [current] = await tx.select().from(users).where(eq(users.address, siwe.address)).for("update");
      const synced = withConfigAdmin(current!, this.admins.has(siwe.address));
      const [row] = await tx
        .update(users)
        .set({ lastSignInAt: now, firstSignInAt: current!.firstSignInAt ?? now, updatedAt: now, ...(synced ?? {}) })
        .where(eq(users.address, siwe.address))
        .returning();
      if (synced)
        await tx.insert(auditLog).values({
          actor: "config:ADMIN_ADDRESSES",
          action: synced.roles.includes("admin") ? "role.granted" : "role.revoked",
          subject: siwe.address,
          detail: { role: "admin", source: "config" },
        });
      await tx.insert(sessions).values({
        id: sessionId,
        address: siwe.address,
        chainId: siwe.chainId,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + auth.refreshTokenTtlSeconds * 1000),
        ip: meta.ip?.slice(0, 100) ?? null,
        userAgent: meta.userAgent?.slice(0, 300) ?? null,
      });
      await tx
        .insert(refreshTokens)
        .values({ tokenHash: sha256(refresh), sessionId, createdAt: now, expiresAt: new Date(now.getTime() + auth.refreshTokenTtlSeconds * 1000) });
      return { user: view(row!), rolesChanged: synced !== undefined };
    });
    // Tokens of the address's other sessions carry the old roles: stale from now (before this session's token is signed).
    if (rolesChanged) await this.rolesChanged(user.address);
    const accessToken = await this.deps.keys.sign({ sub: user.address, sid: sessionId, roles: user.roles });
    this.deps.logger.info({ address: user.address, sessionId, chainId: siwe.chainId }, "login");
    return {
      accessToken,
      refreshToken: refresh,
      expiresIn: this.deps.keys.ttlSeconds,
      tokenType: "Bearer",
      address: user.address,
      roles: user.roles,
      sessionId,
    };
  }

  /**
   * Rotates a refresh token. A spent token presented again revokes its whole family, except within
   * the grace window while its successor is still unused (the client lost the response): then the
   * unused successor is retired and a fresh pair issued.
   */
  async refresh(presented: string): Promise<TokenPair> {
    const now = new Date();
    const { auth } = this.deps.config;
    const hash = sha256(presented);
    const outcome = await this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).for("update");
      if (!row) return { error: unauthorized("REFRESH_TOKEN_INVALID", "refresh token unknown") } as const;
      const [session] = await tx.select().from(sessions).where(eq(sessions.id, row.sessionId)).for("update");
      if (!session || session.revokedAt) return { error: unauthorized("SESSION_REVOKED", "session revoked: sign in again") } as const;
      if (session.expiresAt <= now || row.expiresAt <= now)
        return { error: unauthorized("REFRESH_TOKEN_EXPIRED", "refresh token expired: sign in again") } as const;
      if (row.usedAt) {
        // Grace only for a token whose successor exists and was never used (a retired token has none).
        let inGrace = now.getTime() - row.usedAt.getTime() <= auth.refreshGraceSeconds * 1000 && !!row.replacedBy;
        if (inGrace && row.replacedBy) {
          const [successor] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, row.replacedBy)).for("update");
          inGrace = !!successor && !successor.usedAt;
          if (inGrace) await tx.update(refreshTokens).set({ usedAt: now }).where(eq(refreshTokens.tokenHash, row.replacedBy));
        }
        if (!inGrace) {
          await tx.update(sessions).set({ revokedAt: now, revokedReason: "refresh_token_reuse" }).where(eq(sessions.id, session.id));
          await tx.insert(auditLog).values({ actor: session.address, action: "session.revoked.reuse", subject: session.id, detail: {} });
          return { revoked: session.id, error: unauthorized("REFRESH_TOKEN_REUSED", "refresh token already used: the session has been revoked") } as const;
        }
      }
      const next = token("crt");
      const nextHash = sha256(next);
      await tx.insert(refreshTokens).values({ tokenHash: nextHash, sessionId: session.id, createdAt: now, expiresAt: session.expiresAt });
      await tx
        .update(refreshTokens)
        .set({ usedAt: row.usedAt ?? now, replacedBy: nextHash })
        .where(eq(refreshTokens.tokenHash, hash));
      await tx.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, session.id));
      let [user] = await tx.select().from(users).where(eq(users.address, session.address)).for("update");
      // ADMIN_ADDRESSES applies at every refresh too: a removed config admin loses the role within one access-token TTL even without signing in.
      const synced = withConfigAdmin(user!, this.admins.has(session.address));
      if (synced) {
        [user] = await tx
          .update(users)
          .set({ ...synced, updatedAt: now })
          .where(eq(users.address, session.address))
          .returning();
        await tx.insert(auditLog).values({
          actor: "config:ADMIN_ADDRESSES",
          action: synced.roles.includes("admin") ? "role.granted" : "role.revoked",
          subject: session.address,
          detail: { role: "admin", source: "config" },
        });
      }
      return { next, session, user: view(user!), rolesChanged: synced !== undefined } as const;
    });
    if ("revoked" in outcome && outcome.revoked) {
      await this.markRevoked(outcome.revoked, "refresh_token_reuse");
      this.deps.logger.warn({ sessionId: outcome.revoked }, "refresh token reuse: session family revoked");
    }
    if (outcome.error) throw outcome.error;
    const { next, session, user } = outcome;
    if (outcome.rolesChanged) await this.rolesChanged(user.address);
    // Roles are re-read on every refresh, so grants/revocations apply within one access-token TTL.
    const accessToken = await this.deps.keys.sign({ sub: user.address, sid: session.id, roles: user.roles });
    return {
      accessToken,
      refreshToken: next,
      expiresIn: this.deps.keys.ttlSeconds,
      tokenType: "Bearer",
      address: user.address,
      roles: user.roles,
      sessionId: session.id,
    };
  }

  async logout(sessionId: string): Promise<void> {
    await this.db
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: "logout" })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
    await this.markRevoked(sessionId, "logout");
  }

  /** Access tokens of a revoked session stop working at once (checked by requireAuth); its sockets close on every replica. */
  private async markRevoked(sessionId: string, reason: "logout" | "refresh_token_reuse") {
    await this.deps.kv.set(revokedSidKey(sessionId), "1", (this.deps.keys.ttlSeconds + 60) * 1000);
    await this.announce({ sid: sessionId, reason });
  }

  /** The roles of `address` changed: its access tokens issued until now are refused (refresh for new ones), its sockets close. */
  private async rolesChanged(address: `0x${string}`) {
    const at = Date.now();
    await this.deps.kv.set(rolesChangedKey(address), String(at), (this.deps.keys.ttlSeconds + 60) * 1000);
    await this.announce({ address, before: at, reason: "roles_changed" });
  }

  /** Tells every realtime process (realtime/server.ts). The Redis keys above are what requests check: a lost message only leaves sockets open. */
  private async announce(revocation: Revocation) {
    try {
      await this.deps.kv.publish(REVOCATION_CHANNEL, JSON.stringify(revocation));
    } catch (error) {
      this.deps.logger.warn(
        { err: error, reason: revocation.reason },
        "revocation announcement failed: open sockets of the session stay open until their token expires",
      );
    }
  }

  async authenticateBearer(jwt: string): Promise<Principal> {
    const claims = await this.deps.keys.verify(jwt);
    const [revoked, rolesChangedAt] = await Promise.all([this.deps.kv.get(revokedSidKey(claims.sid)), this.deps.kv.get(rolesChangedKey(claims.sub))]);
    if (revoked) throw unauthorized("SESSION_REVOKED", "session revoked: sign in again");
    if (rolesChangedAt && claims.iatMs < Number(rolesChangedAt)) throw unauthorized("TOKEN_STALE", "this account's roles changed: refresh the access token");
    return { kind: "user", address: claims.sub, roles: claims.roles, sessionId: claims.sid };
  }

  async authenticateApiKey(key: string): Promise<Principal> {
    if (!/^clk_[\w-]{20,100}$/.test(key)) throw unauthorized("API_KEY_INVALID", "API key invalid");
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, sha256(key)));
    if (!row) throw unauthorized("API_KEY_INVALID", "API key invalid");
    if (row.revokedAt) throw unauthorized("API_KEY_REVOKED", "API key revoked");
    // Throttled bookkeeping: at most one write per key per minute.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000)
      void this.db
        .update(apiKeys)
        .set({ lastUsedAt: new Date() })
        .where(eq(apiKeys.id, row.id))
        .catch(() => {});
    return { kind: "apiKey", apiKeyId: row.id, name: row.name, roles: sortRoles(row.roles) };
  }

  async getUser(address: `0x${string}`): Promise<UserView | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.address, address));
    return row ? view(row) : undefined;
  }

  /** Shallow merge; keys set to null are removed. */
  async updatePreferences(address: `0x${string}`, patch: Record<string, unknown>): Promise<UserView> {
    return await this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(users).where(eq(users.address, address)).for("update");
      if (!row) throw notFound("USER_NOT_FOUND", "user not found");
      const preferences: Record<string, unknown> = { ...(row.preferences ?? {}) };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete preferences[k];
        else preferences[k] = v;
      }
      if (JSON.stringify(preferences).length > 16_384) throw unprocessable("PREFERENCES_TOO_LARGE", "preferences exceed 16 KiB");
      const [updated] = await tx.update(users).set({ preferences, updatedAt: new Date() }).where(eq(users.address, address)).returning();
      return view(updated!);
    });
  }

  async setRole(actor: string, address: `0x${string}`, role: Role, grant: boolean): Promise<UserView> {
    if (role === "user") throw conflict("ROLE_IMMUTABLE", "every account has the user role");
    if (!grant && role === "admin" && this.admins.has(address))
      throw conflict("ROLE_FROM_CONFIG", "this admin is configured in ADMIN_ADDRESSES; remove it there");
    const { user, changed } = await this.db.transaction(async (tx) => {
      await tx
        .insert(users)
        .values({ address, roles: ["user"], preferences: {} })
        .onConflictDoNothing();
      const [row] = await tx.select().from(users).where(eq(users.address, address)).for("update");
      const roles = new Set(row!.roles);
      const had = roles.has(role);
      if (grant) roles.add(role);
      else roles.delete(role);
      // An admin role granted here is the API's, not the config's: it survives removal from ADMIN_ADDRESSES.
      const adminFromConfig = role === "admin" ? false : row!.adminFromConfig;
      const [updated] = await tx
        .update(users)
        .set({ roles: sortRoles(roles), adminFromConfig, updatedAt: new Date() })
        .where(eq(users.address, address))
        .returning();
      await tx.insert(auditLog).values({ actor, action: grant ? "role.granted" : "role.revoked", subject: address, detail: { role } });
      return { user: view(updated!), changed: had !== grant };
    });
    if (changed) await this.rolesChanged(address);
    return user;
  }

  async createApiKey(actor: string, name: string, roles: Role[]) {
    const key = token("clk");
    const id = randomUUID();
    const createdAt = new Date();
    const sorted = sortRoles(roles);
    await this.db.transaction(async (tx) => {
      await tx.insert(apiKeys).values({ id, name, prefix: key.slice(0, 12), keyHash: sha256(key), roles: sorted, createdBy: actor, createdAt });
      await tx.insert(auditLog).values({ actor, action: "api_key.created", subject: id, detail: { name, roles: sorted } });
    });
    return { id, name, key, prefix: key.slice(0, 12), roles: sorted, createdAt: createdAt.toISOString() };
  }

  async listApiKeys() {
    const rows = await this.db.select().from(apiKeys).orderBy(apiKeys.createdAt);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      roles: sortRoles(r.roles),
      createdBy: r.createdBy,
      createdAt: r.createdAt.toISOString(),
      lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
      revokedAt: r.revokedAt?.toISOString() ?? null,
    }));
  }

  async revokeApiKey(actor: string, id: string) {
    const [row] = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) {
      const [exists] = await this.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id));
      if (!exists) throw notFound("API_KEY_NOT_FOUND", "API key not found");
      throw conflict("API_KEY_ALREADY_REVOKED", "API key already revoked");
    }
    await this.db.insert(auditLog).values({ actor, action: "api_key.revoked", subject: id, detail: {} });
  }
}
