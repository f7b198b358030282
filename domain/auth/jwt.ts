/**
 * Access tokens: asymmetric JWTs (ES256 or EdDSA) signed with jose. Keys are private JWKs with a
 * `kid`; the first key signs, every key verifies and is published in the JWKS, so rotation is:
 * prepend a new key, keep the old one until the last token it signed has expired, then drop it.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  type JWK,
  type JWTPayload,
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from "jose";
import { ConfigError } from "../../infra/config/index.js";
import { unauthorized } from "../../infra/errors.js";
import { ROLES, type Role } from "./principal.js";

/** `iatMs`: issue time in milliseconds (claim `iat_ms`; `iat` × 1000 for tokens without it), compared with role changes. */
export type AccessClaims = { sub: `0x${string}`; sid: string; roles: Role[]; iat: number; iatMs: number; exp: number; jti: string };

const ALGS = ["ES256", "EdDSA"] as const;
type Alg = (typeof ALGS)[number];

export class JwtKeys {
  private constructor(
    private readonly signing: { kid: string; alg: Alg; key: Awaited<ReturnType<typeof importJWK>> },
    private readonly publicJwks: JWK[],
    private readonly options: { issuer: string; audience: string; ttlSeconds: number },
  ) {}

  /** From private JWKs (each with `kid`, `alg` ES256 or EdDSA). */
  static async fromPrivateJwks(jwks: JWK[], options: { issuer: string; audience: string; ttlSeconds: number }): Promise<JwtKeys> {
    if (!Array.isArray(jwks) || jwks.length === 0) throw new ConfigError("AUTH_JWT_KEYS must be a non-empty JSON array of private JWKs");
    const publics: JWK[] = [];
    const kids = new Set<string>();
    for (const jwk of jwks) {
      const alg = (jwk.alg ?? (jwk.crv === "Ed25519" ? "EdDSA" : "ES256")) as Alg;
      if (!ALGS.includes(alg)) throw new ConfigError(`AUTH_JWT_KEYS: unsupported alg ${alg} (use ES256 or EdDSA)`);
      if (!jwk.d) throw new ConfigError("AUTH_JWT_KEYS must hold private keys (field d)");
      const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
      if (kids.has(kid)) throw new ConfigError(`AUTH_JWT_KEYS: duplicate kid ${kid}`);
      kids.add(kid);
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      publics.push({ ...pub, kid, alg, use: "sig" });
    }
    const first = jwks[0]!;
    const alg = (first.alg ?? (first.crv === "Ed25519" ? "EdDSA" : "ES256")) as Alg;
    const key = await importJWK(first, alg);
    return new JwtKeys({ kid: publics[0]!.kid!, alg, key }, publics, options);
  }

  /** Generates an ES256 private JWK (for dev, tests and `AUTH_JWT_KEYS` rotation). */
  static async generatePrivateJwk(alg: Alg = "ES256"): Promise<JWK> {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
    const jwk = await exportJWK(privateKey);
    return { ...jwk, alg, kid: await calculateJwkThumbprint(jwk) };
  }

  /**
   * Keys from configuration (`AUTH_JWT_KEYS`), or a development key generated once and persisted in
   * `${dataDir}/jwt-dev-keys.json` so tokens survive restarts.
   */
  static async load(
    configured: string | undefined,
    dataDir: string,
    options: { issuer: string; audience: string; ttlSeconds: number },
    onDevKey?: (file: string, created: boolean) => void,
  ): Promise<JwtKeys> {
    if (configured) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(configured);
      } catch {
        throw new ConfigError("AUTH_JWT_KEYS is not valid JSON (expected an array of private JWKs)");
      }
      return await JwtKeys.fromPrivateJwks((Array.isArray(parsed) ? parsed : [parsed]) as JWK[], options);
    }
    const file = path.join(dataDir, "jwt-dev-keys.json");
    let created = false;
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, `${JSON.stringify([await JwtKeys.generatePrivateJwk()], null, 2)}\n`, { mode: 0o600 });
      created = true;
    }
    onDevKey?.(file, created);
    return await JwtKeys.fromPrivateJwks(JSON.parse(readFileSync(file, "utf8")) as JWK[], options);
  }

  get ttlSeconds() {
    return this.options.ttlSeconds;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwks.map((k) => ({ ...k })) };
  }

  async sign(claims: { sub: `0x${string}`; sid: string; roles: Role[] }): Promise<string> {
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    return await new SignJWT({ sid: claims.sid, roles: claims.roles, iat_ms: now })
      .setProtectedHeader({ alg: this.signing.alg, kid: this.signing.kid, typ: "JWT" })
      .setSubject(claims.sub)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.options.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.signing.key);
  }

  /** Verifies signature (by kid), alg, issuer, audience, expiry; throws 401 ServiceErrors. */
  async verify(token: string): Promise<AccessClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet({ keys: this.publicJwks }), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: [...ALGS],
        requiredClaims: ["sub", "exp", "iat"],
        clockTolerance: 5,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("TOKEN_EXPIRED", "access token expired: refresh it");
      if (error instanceof joseErrors.JWKSNoMatchingKey) throw unauthorized("TOKEN_INVALID", "access token signed by an unknown key");
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw unauthorized("TOKEN_INVALID", `access token rejected: ${error.claim} claim invalid`);
      throw unauthorized("TOKEN_INVALID", "access token invalid");
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string)) : [];
    if (typeof payload.sid !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(payload.sub ?? "")) throw unauthorized("TOKEN_INVALID", "access token lacks sid/sub");
    const iatMs = typeof payload.iat_ms === "number" && Number.isFinite(payload.iat_ms) ? payload.iat_ms : payload.iat! * 1000;
    return { sub: payload.sub as `0x${string}`, sid: payload.sid, roles, iat: payload.iat!, iatMs, exp: payload.exp!, jti: String(payload.jti ?? "") };
  }
}
