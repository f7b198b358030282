/** Prints a new private JWK for AUTH_JWT_KEYS: `npx tsx scripts/generate-jwt-key.ts [ES256|EdDSA]`. */
import { JwtKeys } from "../domain/auth/jwt.js";

const alg = process.argv[2] === "EdDSA" ? "EdDSA" : "ES256";
console.log(JSON.stringify(await JwtKeys.generatePrivateJwk(alg)));
