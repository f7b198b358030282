/**
 * `npm run bench:realtime [-- --size small|medium|large | --mints N] [--poll-ms 50] [--clients 1]`
 *
 * Block mined → WebSocket push latency, end to end: a 1-chain devnet, our Ponder indexer on
 * Postgres (pollingInterval 100 ms), the realtime service (notifier + WebSocket server) and
 * `--clients` sockets subscribed to the collection. One mint at a time:
 *   baseline: mined → the row is visible in the indexed `activity` table (polled every 5 ms);
 *   push:     mined → the `nft:minted` push reaches every socket (p50/p95 over all sockets).
 * The difference is what the notifier + Redis + WebSocket add. Target: push p50 ≤ Ponder's polling
 * interval + 150 ms.
 */
import { parseArgs } from "node:util";
import { and, eq } from "drizzle-orm";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { AuthService } from "../domain/auth/service.js";
import { connectIndexedDb, indexedTables } from "../read/db.js";
import { tokenIdInRange } from "../chain/onft.js";
import { loadOpsConfig } from "../infra/config/ops.js";
import { startRealtime } from "../realtime/service.js";
import { createTestApp, PG_URL } from "../test/api/helpers.js";
import { deployer, signerFor, startTestDevnet } from "../test/helpers/devnet.js";
import { cleanupPonder, startPonder, waitForHead } from "../test/helpers/ponder.js";
import { connect } from "../test/realtime/helpers.js";
import { pct } from "./lib/timing.js";

const SIZES = { small: 20, medium: 100, large: 500 } as const;
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    mints: { type: "string" },
    "poll-ms": { type: "string", default: "50" },
    clients: { type: "string", default: "1" },
  },
});
const mints = values.mints ? Number(values.mints) : SIZES[values.size as keyof typeof SIZES];
const clients = Number(values.clients);
if (!(mints > 0) || !(clients > 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --mints N); --clients N`);
  process.exit(2);
}
const log = (line: string) => console.log(`[bench] ${line}`);

const devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
const cleanups: (() => Promise<unknown>)[] = [() => devnet.stop()];
try {
  const ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
  cleanups.unshift(() => cleanupPonder(ponder));
  await waitForHead(ponder, devnet.deployments);
  const indexed = connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 4 });
  cleanups.unshift(() => indexed.close());
  const t = await createTestApp({ kv: "redis" });
  cleanups.unshift(() => t.close());
  const ops = loadOpsConfig({ REALTIME_PORT: "0", REALTIME_POLL_MS: values["poll-ms"] });
  const service = await startRealtime({ kv: t.deps.kv, store: t.deps.store, logger: t.deps.logger, auth: new AuthService(t.deps), indexed, ops });
  cleanups.unshift(() => service.close());
  const sockets = await Promise.all(Array.from({ length: clients }, () => connect(service.server.url)));
  cleanups.unshift(async () => sockets.forEach((s) => s.close()));
  for (const s of sockets) {
    s.send({ type: "subscribe", rooms: ["collection:cosmic"] });
    await s.next((m) => m.type === "subscribed");
  }
  const chain = devnet.deployments.chains[0]!;
  const cosmic = devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chain.chainId)!;
  const signer = signerFor(chain, deployer.privateKey);
  const mint = async (serial: number) => {
    const tokenId = tokenIdInRange(chain.eid, serial);
    await signer.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [deployer.address, tokenId] });
    return { tokenId, minedAt: performance.now() };
  };

  log(`${mints} mints, ${clients} socket(s), notifier poll ${ops.realtime.pollMs} ms, Ponder polling 100 ms`);
  const baseline: number[] = [];
  for (let i = 0; i < mints; i++) {
    const { tokenId, minedAt } = await mint(1_000 + i);
    for (;;) {
      const rows = await indexed.db
        .select({ t: indexedTables.activity.tokenId })
        .from(indexedTables.activity)
        .where(and(eq(indexedTables.activity.chainId, chain.chainId), eq(indexedTables.activity.tokenId, tokenId)));
      if (rows.length) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    baseline.push(performance.now() - minedAt);
  }
  const push: number[] = [];
  for (let i = 0; i < mints; i++) {
    const { tokenId, minedAt } = await mint(5_000 + i);
    await Promise.all(
      sockets.map(async (s) => {
        await s.next((m) => m.type === "nft:minted" && m.data.tokenId === String(tokenId), 30_000);
        push.push(performance.now() - minedAt);
      }),
    );
  }
  const target = 100 + 150;
  log(`baseline mined → indexed row   p50 ${pct(baseline, 50).toFixed(0)} ms  p95 ${pct(baseline, 95).toFixed(0)} ms`);
  log(`mined → WebSocket push         p50 ${pct(push, 50).toFixed(0)} ms  p95 ${pct(push, 95).toFixed(0)} ms  (n=${push.length})`);
  log(`notifier + Redis + WS overhead p50 ${(pct(push, 50) - pct(baseline, 50)).toFixed(0)} ms`);
  log(`target p50 ≤ ${target} ms: ${pct(push, 50) <= target ? "met" : "NOT met"}`);
} finally {
  for (const fn of cleanups) await fn().catch(() => {});
}
process.exit(0);
