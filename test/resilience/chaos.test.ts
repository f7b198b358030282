/**
 * Chaos (issue 8). Runs in `npm test` in a bounded form (2 reorgs, no kills: ~1 min on 2 cores)
 * and in full with `RESILIENCE_CHAOS=1` (set by `npm run test:resilience`: 5 reorgs, 10 kills, the
 * issue's "SIGKILL of the indexer at 10 random points"). The kills stay out of `npm test`: one CI
 * run under full-suite load had a restarted Ponder not /ready within 120 s (not reproduced alone);
 * CI still kills a backfilling Ponder once per database in test/indexer/replay.test.ts. Reuses the indexer test helpers
 * (devnet, Ponder child, history, dumpIndex, reconcile) of test/indexer/reorg.test.ts and replay.test.ts:
 * 1. RESILIENCE_REORGS reorgs of random depth 1-20 on chain A while a live Ponder indexes and a
 *    reader hammers /graphql: after each, reconcile is clean; reads never 5xx.
 * 2. A fresh index of the final chains equals the live one (no orphan rows of dropped branches).
 * 3. RESILIENCE_KILLS SIGKILLs of a backfilling Ponder at random points (restarted on the same
 *    data each time): its final tables equal the fresh index, reconcile clean.
 * Seeded by RESILIENCE_SEED so a failing schedule can be replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import type { Devnet } from "../../devnet/start.js";
import { reconcile } from "../../indexer/reconcile.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, cleanupPonder, dumpIndex, indexedBlocks, startPonder, waitForHead, waitUntil, withRpcUrls } from "../helpers/ponder.js";
import { generateHistory } from "../helpers/ponderHistory.js";
import { startRpcProxy } from "../../devnet/rpcProxy.js";
import { Summary } from "./lib/summary.js";

/** Full run (npm run test:resilience); otherwise the bounded CI form. Explicit knobs win either way. */
const FULL = process.env.RESILIENCE_CHAOS === "1";
const REORGS = Number(process.env.RESILIENCE_REORGS ?? (FULL ? 5 : 2));
const KILLS = Number(process.env.RESILIENCE_KILLS ?? (FULL ? 10 : 0));
let seed = Number(process.env.RESILIENCE_SEED ?? 20261125) >>> 0;
/** mulberry32: a seeded schedule (depths, kill delays). */
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

describe(`resilience chaos (${FULL ? "full" : "bounded"}): random reorgs and SIGKILLs during indexing`, () => {
  let devnet: Devnet;
  let live: PonderInstance;
  let reference: Record<string, unknown[]>;
  /** Server up → at head, uninterrupted (the fresh run): the window the kills are spread over. */
  let backfillMs = 5_000;
  const cleanups: (() => Promise<unknown>)[] = [];
  const summary = new Summary();

  beforeAll(async () => {
    devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
    await generateHistory(devnet.deployments, { mintsPerChain: 400, batchSize: 100, transfersPerChain: 6, bridgesPerChain: 2 });
    live = await startPonder({ deployments: devnet.deployments, db: "pglite" });
    cleanups.push(() => cleanupPonder(live));
    await waitForHead(live, devnet.deployments, 120_000);
  }, 400_000);
  afterAll(async () => {
    console.log(
      summary.table(`Resilience chaos, ${FULL ? "full" : "bounded"} (seed ${process.env.RESILIENCE_SEED ?? 20261125}, ${REORGS} reorgs, ${KILLS} kills)`),
    );
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await devnet?.stop();
  });

  it(`${REORGS} reorgs of random depth 1-20 under read traffic: reconcile clean after each, no 5xx`, async () => {
    const a = devnet.deployments.chains[0]!;
    const cosmic = devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === a.chainId)!;
    // One signer across every evm_revert: it takes nonces from the chain when idle (chain/signer.ts),
    // and a transaction that cannot be mined fails in seconds with a TransactionStuckError saying why.
    const minter = createChainSigner({ chainId: a.chainId, rpcUrl: a.rpcUrl, privateKey: deployer.privateKey, pollingInterval: 10 });
    const reads = { ok: 0, bad: [] as string[], stop: false };
    const reader = (async () => {
      while (!reads.stop) {
        try {
          const res = await fetch(`${live.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: '{ tokens(limit: 20, orderBy: "updatedOrderKey", orderDirection: "desc") { items { tokenId owner state } } }' }),
            signal: AbortSignal.timeout(10_000),
          });
          if (res.status >= 500) reads.bad.push(`${res.status} ${(await res.text()).slice(0, 200)}`);
          else reads.ok++;
        } catch (e) {
          reads.bad.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = performance.now();
    const failures: string[] = [];
    const depths: number[] = [];
    const catchUps: number[] = [];
    try {
      for (let r = 0; r < REORGS; r++) {
        const depth = 1 + Math.floor(random() * 20);
        depths.push(depth);
        const serial = (i: number) => tokenIdInRange(a.eid, BigInt(50_000 + r * 100 + i));
        const snapshot = await rpc<string>(a.rpcUrl, "evm_snapshot");
        for (let i = 0; i < depth; i++)
          await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [accounts[1]!.address, serial(i)] });
        // Let the index see the doomed branch (sometimes only part of it: reorg while catching up).
        if (random() < 0.5) await waitForHead(live, devnet.deployments, 60_000);
        expect(await rpc<boolean>(a.rpcUrl, "evm_revert", [snapshot])).toBe(true);
        for (let i = 0; i <= depth; i++)
          await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [accounts[2]!.address, serial(50 + i)] });
        // Usually a second. When the revert lands between Ponder's eth_getBlockByNumber and its
        // eth_getLogs({ blockHash }) of a doomed block, anvil ≥ 1.7 answers "unknown block" (as geth
        // does) and Ponder 0.16 retries that request ~10 times with backoff (~65 s) before it
        // notices the reorg: a stall, not a wrong index. Allow for it and report it.
        const catchUp = performance.now();
        await waitForHead(live, devnet.deployments, 180_000);
        catchUps.push((performance.now() - catchUp) / 1000);
        const { mismatches } = await reconcile(setupFromDeployments(devnet.deployments), live.url);
        if (mismatches.length) failures.push(`reorg ${r} (depth ${depth}): ${mismatches.slice(0, 5).join("; ")}`);
      }
    } finally {
      reads.stop = true;
      await reader;
    }
    summary.add({
      test: `reorgs depth ${depths.join(",")} then reconcile`,
      attempts: REORGS,
      failures: failures.length,
      seconds: (performance.now() - t0) / 1000,
      note: `index at head again after ${catchUps.map((x) => `${x.toFixed(1)} s`).join(", ")}`,
    });
    summary.add({ test: "GraphQL reads during the reorgs", attempts: reads.ok + reads.bad.length, failures: reads.bad.length });
    expect(failures).toEqual([]);
    expect(reads.bad).toEqual([]);
    expect(reads.ok).toBeGreaterThan(0);
  }, 600_000);

  it("a fresh index of the final chains equals the live index (no orphans of dropped branches)", async () => {
    const t0 = performance.now();
    const fresh = await startPonder({ deployments: devnet.deployments, db: "pglite" });
    try {
      const up = performance.now();
      await waitForHead(fresh, devnet.deployments, 120_000);
      backfillMs = performance.now() - up;
      reference = await dumpIndex(fresh);
      const same = JSON.stringify(await dumpIndex(live)) === JSON.stringify(reference);
      summary.add({ test: "live index after reorgs = fresh index", attempts: 1, failures: same ? 0 : 1, seconds: (performance.now() - t0) / 1000 });
      expect(await dumpIndex(live)).toEqual(reference);
    } finally {
      await cleanupPonder(fresh);
    }
  }, 300_000);

  it.skipIf(KILLS === 0)(
    `SIGKILL during backfill ${KILLS} times at random points: final tables identical, reconcile clean`,
    async () => {
      expect(reference, "needs the fresh reference index").toBeDefined();
      await live.stop(); // one Ponder at a time from here: the kills should race the backfill, not the CPU
      const t0 = performance.now();
      // Slow every chain's RPC a little so the backfill lasts long enough to be interrupted.
      const proxies = await Promise.all(devnet.deployments.chains.map(async (c) => [c.chainId, await startRpcProxy(c.rpcUrl, { delayMs: 5 })] as const));
      cleanups.push(async () => Promise.all(proxies.map(([, p]) => p.close())));
      const slowed = withRpcUrls(devnet.deployments, new Map(proxies.map(([id, p]) => [id, p.url])));
      let instance = await startPonder({ deployments: slowed, db: "pglite" });
      cleanups.push(() => cleanupPonder(instance));
      const heads = await Promise.all(devnet.deployments.chains.map(async (c) => [c.chainId, Number(await rpc<string>(c.rpcUrl, "eth_blockNumber"))] as const));
      const killedAt: string[] = [];
      let late = 0;
      for (let k = 0; k < KILLS; k++) {
        // A random point of the backfill window measured on the uninterrupted run (server up → head).
        const delay = Math.floor((0.05 + 0.9 * random()) * backfillMs);
        await new Promise((r) => setTimeout(r, delay));
        const at = await indexedBlocks(instance);
        const done = heads.every(([id, head]) => (at.get(id) ?? -1) >= head);
        if (done) late++;
        killedAt.push(`${delay} ms${done ? " (already at head)" : ""}`);
        await instance.kill();
        instance = await startPonder({
          deployments: slowed,
          db: "pglite",
          reuse: { dataDir: instance.dataDir, schema: instance.schema, deploymentsFile: instance.deploymentsFile },
        });
      }
      // /status reads _ponder_checkpoint, which after a restart can still show the pre-kill head while
      // the unfinalized rows (last 30 blocks) are being re-indexed (seen once in a full run: ~25 rows
      // missing right after waitForHead). So: /ready first, then the head, then give the tables up to
      // 60 s to converge, and report how long they took.
      await waitUntil(async () => (await fetch(`${instance.url}/ready`).catch(() => undefined))?.ok, "ponder /ready", 240_000);
      await waitForHead(instance, devnet.deployments, 120_000);
      const settle = performance.now();
      let dump = await dumpIndex(instance);
      while (JSON.stringify(dump) !== JSON.stringify(reference) && performance.now() - settle < 60_000) {
        await new Promise((r) => setTimeout(r, 1_000));
        dump = await dumpIndex(instance);
      }
      const settledMs = performance.now() - settle;
      const { mismatches } = await reconcile(setupFromDeployments(devnet.deployments), instance.url);
      const same = JSON.stringify(dump) === JSON.stringify(reference);
      summary.add({
        test: "SIGKILL mid-backfill, restart, compare",
        attempts: KILLS,
        failures: same && !mismatches.length ? 0 : 1,
        seconds: (performance.now() - t0) / 1000,
        note: `kills at ${killedAt.join(", ")} after the server was up; uninterrupted backfill ${backfillMs.toFixed(0)} ms; ${KILLS - late} mid-backfill; tables equal ${settledMs < 1_000 ? "at once" : `after ${(settledMs / 1000).toFixed(1)} s more`}`,
      });
      expect(dump).toEqual(reference);
      expect(mismatches).toEqual([]);
    },
    600_000,
  );
});
