/**
 * `npx tsx bench/lib/login.ts [--size small|medium|large] [--concurrency 20]` (run by `npm run bench`).
 *
 * Login throughput: N distinct wallets each do GET /auth/nonce → sign → POST /auth/login through
 * the app built in-process on real Postgres + Redis (test/api/helpers), `--concurrency` at a time.
 * Baseline, same run: the cryptographic floor — viem `verifyMessage` of the same N signed SIWE
 * messages, same concurrency. Signing happens before the clock starts (it is the wallet's cost).
 */
import { parseArgs } from "node:util";
import { verifyMessage } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createTestApp, json, siweMessage } from "../../test/api/helpers.js";

const SIZES = { small: 200, medium: 2_000, large: 10_000 } as const;
const { values } = parseArgs({ options: { size: { type: "string", default: "small" }, concurrency: { type: "string", default: "20" } } });
const n = SIZES[values.size as keyof typeof SIZES];
const concurrency = Number(values.concurrency);
if (!n || !(concurrency > 0)) throw new Error("--size small|medium|large, --concurrency N");
const CHAIN_ID = 31337;

async function pool<T>(items: T[], fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// Nothing listens on the RPC URL: EOA signatures are checked locally, as in test/api.
const t = await createTestApp({ kv: "redis", chains: [{ chainId: CHAIN_ID, rpcUrl: "http://127.0.0.1:9" }] });
try {
  const wallets = Array.from({ length: n }, () => privateKeyToAccount(generatePrivateKey()));
  // Nonces and signatures first (the client's side), so both measurements time only the server's work.
  const signed = await Promise.all(
    wallets.map(async (w) => {
      const { nonce } = (await (await t.app.request(`/auth/nonce/${w.address}`)).json()) as { nonce: string };
      const message = siweMessage({ address: w.address, nonce, chainId: CHAIN_ID });
      return { address: w.address, message, signature: await w.signMessage({ message }) };
    }),
  );

  let t0 = performance.now();
  await pool(signed, async (s) => {
    if (!(await verifyMessage({ address: s.address, message: s.message, signature: s.signature }))) throw new Error("baseline verify failed");
  });
  const baseMs = performance.now() - t0;

  t0 = performance.now();
  await pool(signed, async (s) => {
    const res = await t.app.request("/auth/login", json({ message: s.message, signature: s.signature }));
    if (res.status !== 200) throw new Error(`login → ${res.status} ${await res.text()}`);
  });
  const loginMs = performance.now() - t0;

  console.log(`[bench] ${n} logins, concurrency ${concurrency}`);
  console.log(`[bench] baseline verifyMessage: ${(n / (baseMs / 1000)).toFixed(0)} /s`);
  console.log(`[bench] POST /auth/login: ${(n / (loginMs / 1000)).toFixed(0)} /s`);
} finally {
  await t.close();
}
process.exit(0);
