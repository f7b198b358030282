/**
 * `npm run bench:bridge-status [-- --size small|medium|large | --bridges N] [--seconds S]`
 *
 * Bridge status reads with N bridges in flight (1,000 at medium and large), and what the bridge
 * tracker costs the RPC at that load. A 2-chain devnet with LayerZero's workers offline (every bridge
 * stays in flight), our Ponder indexer on Postgres, our app in-process reading it, the tracker in this
 * process reading the chains through a counting RPC proxy.
 *
 *   baseline: `GET /bridge/{id}` before the tracker ran (index only: no progress rows);
 *   ours:     the same reads once the tracker has every bridge's progress (lifecycle from the table).
 * Each: 10 concurrent readers for S seconds over random bridges (a frontend polling its bridges;
 * the app in-process, so the numbers are the route's own, without HTTP); p50/p99 and reads/s. Then, with a block mined
 * on the destination every second (a live chain), the tracker's JSON-RPC calls and HTTP requests per
 * second. Target: status read p99 < 20 ms; no RPC call per read.
 */
import { parseArgs } from "node:util";
import { createPublicClient, http, type PublicClient } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { buildApp } from "../api/app.js";
import { connectIndexedDb } from "../read/db.js";
import { nftSettings } from "../infra/config/nfts.js";
import { sendToken, tokenIdInRange } from "../chain/onft.js";
import { BridgeTracker } from "../domain/bridge/tracker.js";
import { startLayerZeroWorkers } from "../devnet/layerzero/workers.js";
import { startRpcProxy } from "../devnet/rpcProxy.js";
import { setupFromDeployments } from "../indexer/setup.js";
import { createTestApp, PG_URL } from "../test/api/helpers.js";
import { accounts, collectionOn, deployer, signerFor, startTestDevnet } from "../test/helpers/devnet.js";
import { cleanupPonder, startPonder, waitForHead } from "../test/helpers/ponder.js";

const SIZES = { small: 200, medium: 1000, large: 1000 } as const;
const { values } = parseArgs({
  options: { size: { type: "string", default: "small" }, bridges: { type: "string" }, seconds: { type: "string", default: "5" } },
});
const bridges = values.bridges ? Number(values.bridges) : SIZES[values.size as keyof typeof SIZES];
const seconds = Number(values.seconds);
const log = (line: string) => console.log(`[bench] ${line}`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
const cleanups: (() => Promise<unknown>)[] = [() => devnet.stop()];
let exitCode = 0;
try {
  const [src, dst] = devnet.deployments.chains as [(typeof devnet.deployments.chains)[0], (typeof devnet.deployments.chains)[0]];
  const cosmic = collectionOn(devnet.deployments, "cosmic", src.chainId);
  // Every DVN offline: all bridges stay in flight (INFLIGHT, source confirmations 1/1).
  const workers = await startLayerZeroWorkers({
    deployments: devnet.deployments,
    pollingIntervalMs: 200,
    offline: { dvns: devnet.deployments.chains[0]!.layerZero.dvns.map((_, i) => i), committer: true, executor: true },
  });
  cleanups.unshift(() => workers.stop());
  const alice = accounts[1]!;
  const ids = Array.from({ length: bridges }, (_, i) => tokenIdInRange(src.eid, 1n + BigInt(i)));
  const minter = signerFor(src, deployer.privateKey);
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mintBatch", args: [batch.map(() => alice.address), batch] });
  }
  const t0 = performance.now();
  const sender = signerFor(src, alice.privateKey);
  const guids: string[] = [];
  for (const id of ids)
    guids.push((await sendToken({ signer: sender, deployment: cosmic, tokenId: id, dstEid: dst.eid, to: alice.address })).guid.toLowerCase());
  log(`${bridges} bridges sent in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
  cleanups.unshift(() => cleanupPonder(ponder));
  await waitForHead(ponder, devnet.deployments, 300_000);
  const indexed = connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 8 });
  cleanups.unshift(() => indexed.close());
  const t = await createTestApp({ kv: "redis" });
  cleanups.unshift(() => t.close());
  const network = setupFromDeployments(devnet.deployments, 100);
  const app = buildApp({ ...t.deps, network, indexed, nft: nftSettings() });

  async function reads(label: string, concurrency = 10): Promise<number[]> {
    const latencies: number[] = [];
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const guid = guids[Math.floor(Math.random() * guids.length)]!;
          const started = performance.now();
          const res = await app.request(`/bridge/${guid}`);
          if (res.status !== 200) throw new Error(`${label}: GET /bridge/${guid} → ${res.status}`);
          await res.arrayBuffer();
          latencies.push(performance.now() - started);
        }
      }),
    );
    return latencies;
  }
  const baseline = await reads("baseline");

  // The tracker, reading the chains through counting proxies.
  const counts = { http: 0, calls: 0 };
  const proxies = await Promise.all(
    devnet.deployments.chains.map((c) =>
      startRpcProxy(c.rpcUrl, {
        beforeForward: (methods) => {
          counts.http++;
          counts.calls += methods.length;
          return "forward";
        },
      }),
    ),
  );
  for (const p of proxies) cleanups.unshift(() => p.close());
  const clients = new Map(
    devnet.deployments.chains.map((c, i) => [
      c.chainId,
      createPublicClient({ transport: http(proxies[i]!.url, { batch: { batchSize: 500, wait: 0 }, timeout: 10_000 }) }) as PublicClient,
    ]),
  );
  const tracker = new BridgeTracker({ indexed, store: t.deps.store, network, logger: t.deps.logger, intervalMs: 250, clientFor: (id) => clients.get(id)! });
  const trackStart = performance.now();
  let tick = await tracker.tick();
  while (tick.read < bridges && performance.now() - trackStart < 120_000) tick = await tracker.tick();
  log(
    `tracker read ${tick.read} bridges in ${((performance.now() - trackStart) / 1000).toFixed(1)} s (first read, ${counts.calls} calls in ${counts.http} HTTP requests)`,
  );
  const ours = await reads("ours");
  const single = await reads("one reader", 1);

  // A live destination: a block a second; the tracker reads once per block.
  tracker.start();
  const before = { ...counts };
  const measureFrom = performance.now();
  const dstClient = signerFor(dst, deployer.privateKey).publicClient;
  for (let i = 0; i < 10; i++) {
    await dstClient.request({ method: "evm_mine", params: [] } as never);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await tracker.stop();
  const elapsed = (performance.now() - measureFrom) / 1000;
  const callsPerSecond = (counts.calls - before.calls) / elapsed;
  const httpPerSecond = (counts.http - before.http) / elapsed;

  log(
    `status read, ${bridges} in flight, baseline (index only)   p50 ${pct(baseline, 50).toFixed(1)} ms  p99 ${pct(baseline, 99).toFixed(1)} ms  (n=${baseline.length}, ${(baseline.length / seconds).toFixed(0)} reads/s)`,
  );
  log(
    `status read, ${bridges} in flight, with progress           p50 ${pct(ours, 50).toFixed(1)} ms  p99 ${pct(ours, 99).toFixed(1)} ms  (n=${ours.length}, ${(ours.length / seconds).toFixed(0)} reads/s)`,
  );
  log(
    `status read, ${bridges} in flight, with progress, one reader p50 ${pct(single, 50).toFixed(1)} ms  p99 ${pct(single, 99).toFixed(1)} ms  (n=${single.length})`,
  );
  log(`tracker at ${bridges} in flight, a destination block a second: ${callsPerSecond.toFixed(0)} RPC calls/s in ${httpPerSecond.toFixed(1)} HTTP requests/s`);
  log(`target status read p99 < 20 ms: ${pct(ours, 99) < 20 ? "met" : "NOT met"}`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const fn of cleanups) await fn().catch(() => {});
}
process.exit(exitCode);
