/**
 * `npm run bench:api-nfts [-- --size small|medium|large] [--connections 100] [--duration 5] [--rounds 3] [--profile] [--compare <checkout>]`
 *
 * 1. A server process (this file with `--serve`, forked) builds an index of N tokens (small 20k,
 *    medium 200k, large 1M) in a fresh Postgres schema with Ponder's own DDL for ponder.schema.ts
 *    (same tables and indexes `ponder start` creates), owners spread 100 tokens each plus one holder
 *    of 5,000, and a checkpoint row.
 * 2. It serves, on two ports of that one process, our app as production runs it (buildApp with the
 *    ops config: CORS and the global per-IP rate limit in Redis; an info log line per request to an
 *    asynchronous pino destination; Redis cache; read-only pool on that schema) and a bare Hono
 *    route returning a small JSON: the baseline, measured in the same run and served the same way.
 * 3. This process (autocannon; it never serves) loads, one after the other with the same settings,
 *    in `--rounds` interleaved rounds (each row: the median round, so a burst of other work on the
 *    shared machine does not land on one row only): the bare route, our middleware around an empty
 *    handler, cached GET /nfts/{id}, the same behind Ponder's cors; then
 *    GET /nfts/owner/{address} over random owners; the server then times the owner query alone
 *    (listOwnerTokens) for 500 random owners, sequentially, to isolate the database part.
 * The load generator and the server are separate processes (on a 2-core machine each gets about a
 * core; Redis and Postgres share them). `--profile` writes the server's V8 CPU profile
 * of each measured phase to $TMPDIR/cosmic-bench-profiles/<phase>.cpuprofile (open it in Chrome DevTools or speedscope).
 * One more row serves the same app behind the `cors({ origin: "*" })` Ponder's own server puts in
 * front of it under `ponder start` (what that adds is Ponder's, measured here, not removable by us).
 * `--compare <checkout>` serves the same app from another checkout of the repository (its files, this
 * harness) in a second process and interleaves its measurements with ours: before/after in one run.
 * Targets (issue 8): /nfts/{id} ≥ 60 % of the bare route's throughput with p99 < 25 ms at 100
 * connections; owner query p99 < 30 ms over 1M tokens. Everything it creates is dropped at the end.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
// @ts-expect-error autocannon ships no types
import autocannon from "autocannon";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { pino } from "pino";
import { getAddress } from "viem";
import { tokenIdInRange } from "../chain/onft.js";
import { CHAIN_A, CONTRACT_A, EID_A, SIZES, WHALE, benchNetwork, listen, ownerOf, startBenchBackend } from "./lib/nftIndex.js";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    connections: { type: "string", default: "100" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
    compare: { type: "string" },
    serve: { type: "boolean", default: false },
    "app-root": { type: "string" },
  },
});
const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOKENS = SIZES[values.size as keyof typeof SIZES] ?? Number(values.size);
if (!(TOKENS > 0)) throw new Error("--size small|medium|large or a token count");
const CONNECTIONS = Number(values.connections);
const PROFILE_DIR = path.join(os.tmpdir(), "cosmic-bench-profiles");
const DURATION = Number(values.duration);
const ROUNDS = Math.max(1, Number(values.rounds));

/** Messages between the load generator (parent) and the server (child). */
type Ready = { type: "ready"; ours: string; baseline: string; ponderShape: string; nftId: string; indexSeconds: number };
type DbTimings = { type: "db"; random: number[]; whale: number[]; logLines: number };
type ToChild = { type: "db" } | { type: "stop" } | { type: "profile"; phase: string | null };

/**
 * The app's modules, from this checkout or from `--app-root` (another checkout of the repository:
 * `--compare` serves it beside this one to measure before/after in one run).
 */
async function appModules(root: string) {
  const load = <T>(file: string) => import(pathToFileURL(path.join(root, file)).href) as Promise<T>;
  return {
    ...(await load<typeof import("../api/app.js")>("api/app.ts")),
    ...(await load<typeof import("../domain/auth/jwt.js")>("domain/auth/jwt.ts")),
    ...(await load<typeof import("../read/db.js")>("read/db.ts")),
    ...(await load<typeof import("../read/tokens.js")>("read/tokens.ts")),
    ...(await load<typeof import("../infra/config/nfts.js")>("domain/nfts/settings.ts")),
    ...(await load<typeof import("../indexer/setup.js")>("indexer/setup.ts")),
    ...(await load<typeof import("../infra/config/index.js")>("infra/config.ts")),
    ...(await load<typeof import("../infra/logger.js")>("infra/logger.ts")),
    ...(await load<typeof import("../infra/config/ops.js")>("infra/opsConfig.ts")),
    ...(await load<typeof import("../infra/redis.js")>("infra/redis.ts")),
    ...(await load<typeof import("../offchain/store.js")>("offchain/store.ts")),
  };
}

/** The server process: index, our app and the bare baseline, both on this one process. */
async function serveMain() {
  const {
    buildApp,
    JwtKeys,
    connectIndexedDb,
    listOwnerTokens,
    nftSettings,
    setupFromDeployments,
    loadConfig,
    createLogger,
    loadOpsConfig,
    RedisKeyValueStore,
    createOffchainStore,
  } = await appModules(path.resolve(values["app-root"] ?? path.join(HERE, "..")));
  const send = (m: Ready | DbTimings | { type: "profiled" }) => process.send!(m);
  // Production's rate limit path (Redis, shared by replicas) with a budget the load never exhausts;
  // CORS for any origin (the default).
  const backend = await startBenchBackend(
    { JwtKeys, connectIndexedDb, loadConfig, loadOpsConfig, RedisKeyValueStore, createOffchainStore },
    { prefix: "bench_nfts", tokens: TOKENS, logLevel: "info", opsEnv: { RATE_LIMIT_PER_IP: "1000000000", RATE_LIMIT_PER_WALLET: "1000000000" } },
  );
  const { dataDir, kv, store, config, ops, keys, cleanups, runCleanups } = backend;

  let setup;
  try {
    const network = benchNetwork(setupFromDeployments);
    // One info line per request, written asynchronously to a file (production writes stdout).
    const logFile = path.join(dataDir, "requests.log");
    const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
    const logger = createLogger({ level: "info", destination });
    const app = buildApp({ config, store, kv, logger, keys, verifiers: new Map(), network, indexed: backend.indexed, nft: nftSettings({ dataDir }), ops });
    // Our full middleware stack around a handler that does nothing: separates the stack's cost from the route's.
    app.get("/bench/noop", (c) => c.json({ ok: true }));
    const bare = new Hono().get("/bare", (c) => c.json({ id: "cosmic:1", owner: getAddress(WHALE), state: "on_chain" }));
    // Inside `ponder start` our app is a sub-app of Ponder's server, behind its hard-coded
    // cors({ origin: "*", maxAge: 86400 }) (node_modules/ponder/dist/esm/server/index.js).
    const ponderShape = new Hono().use(cors({ origin: "*", maxAge: 86400 })).route("/", app);
    const behindPonder = await listen(ponderShape.fetch);
    cleanups.push(() => behindPonder.close());
    const ours = await listen(app.fetch);
    const baseline = await listen(bare.fetch);
    cleanups.push(
      () => ours.close(),
      () => baseline.close(),
    );

    const nftId = `cosmic:${tokenIdInRange(EID_A, 0n)}`;
    const warm = await fetch(`${ours.url}/nfts/${nftId}`);
    if (warm.status !== 200) throw new Error(`GET /nfts/${nftId} → ${warm.status} ${await warm.text()}`);
    const second = await fetch(`${ours.url}/nfts/${nftId}`);
    console.log(`GET /nfts/{id}: ${(await second.text()).length} bytes of JSON, ${[...second.headers].length} headers`);

    setup = { indexed: backend.indexed, destination, logFile, ours, baseline, behindPonder, nftId, index: backend.index };
  } catch (error) {
    await runCleanups();
    throw error;
  }
  const { indexed, destination, logFile, ours, baseline, behindPonder, nftId, index } = setup;

  // --profile: a V8 CPU profile of this process per measured phase (node:inspector), not of the setup.
  const inspector = values.profile ? new (await import("node:inspector/promises")).Session() : undefined;
  let phase: string | null = null;
  if (inspector) {
    inspector.connect();
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.setSamplingInterval", { interval: 200 });
  }
  process.on("message", (m: ToChild) => {
    if (m.type === "profile" && inspector) {
      void (async () => {
        if (phase) {
          const { profile } = await inspector.post("Profiler.stop");
          mkdirSync(PROFILE_DIR, { recursive: true });
          writeFileSync(path.join(PROFILE_DIR, `${phase}.cpuprofile`), JSON.stringify(profile));
        }
        phase = m.phase;
        if (phase) await inspector.post("Profiler.start");
        send({ type: "profiled" });
      })();
    } else if (m.type === "db") {
      void (async () => {
        // The owner query alone: random owners (100 tokens), and the 5,000-token holder's first and a middle page.
        const random: number[] = [];
        for (let i = 0; i < 500; i++) {
          const t0 = performance.now();
          await listOwnerTokens(indexed.db, ownerOf(Math.floor(Math.random() * (TOKENS - 5000))), { limit: 51 });
          random.push(performance.now() - t0);
        }
        const whale: number[] = [];
        for (let i = 0; i < 100; i++) {
          const t0 = performance.now();
          await listOwnerTokens(indexed.db, WHALE, {
            limit: 51,
            ...(i % 2 ? { after: { chainId: CHAIN_A, contract: CONTRACT_A, tokenId: tokenIdInRange(EID_A, BigInt(TOKENS - 2500)) } } : {}),
          });
          whale.push(performance.now() - t0);
        }
        destination.flushSync();
        const logLines = readFileSync(logFile, "utf8").split("\n").filter(Boolean).length;
        send({ type: "db", random, whale, logLines });
      })();
    } else if (m.type === "stop") {
      void runCleanups().finally(() => process.exit(0));
    }
  });
  send({ type: "ready", ours: ours.url, baseline: baseline.url, ponderShape: behindPonder.url, nftId, indexSeconds: index.seconds });
}

type Result = { rps: number; p50: number; p99: number; errors: number; non2xx: number; requests: number };
async function cannon(url: string, connections: number, requests?: autocannon.Request[]): Promise<Result> {
  const r = await autocannon({ url, connections, duration: DURATION, ...(requests ? { requests } : {}) });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, requests: r.requests.total };
}

/** A forked server process and its messages. */
function startServer(extra: string[]) {
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--compare" && all[i - 1] !== "--compare");
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [...args, ...extra, "--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off("exit", onExit);
        child.off("message", onMessage);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the server process exited (${code}) before "${type}"`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    next,
    send: (m: ToChild) => child.send(m),
    async stop() {
      if (child.exitCode === null && child.connected) child.send({ type: "stop" } satisfies ToChild);
      await exited;
    },
  };
}

/** The load generator: forks the server(s), loads them one at a time, prints the table. */
async function main() {
  const server = startServer([]);
  // --compare <checkout>: the same app from another checkout (e.g. `git worktree add /tmp/before <commit>`), served by a second process.
  const before = values.compare ? startServer(["--app-root", path.resolve(values.compare)]) : undefined;
  try {
    const ready = await server.next<Ready>("ready");
    const readyBefore = await before?.next<Ready>("ready");
    console.log(`  inserted in ${ready.indexSeconds.toFixed(1)} s`);
    console.log(`autocannon: ${CONNECTIONS} connections × ${DURATION} s each (load generator and server in separate processes)`);
    const profiled = async (phase: string | null) => {
      if (!values.profile) return;
      server.send({ type: "profile", phase });
      await server.next("profiled");
    };
    // Rounds: every load in turn, ROUNDS times; each row is the median round (by req/s). On a shared
    // machine the load of other work drifts within seconds; interleaving spreads it over every row.
    type Phase = { name: string; url: string; profile?: string };
    const phases: Phase[] = [
      { name: "bare", url: `${ready.baseline}/bare`, profile: "bare" },
      ...(readyBefore ? [{ name: "beforeNoop", url: `${readyBefore.ours}/bench/noop` }] : []),
      { name: "noop", url: `${ready.ours}/bench/noop`, profile: "noop" },
      ...(readyBefore ? [{ name: "beforeNft", url: `${readyBefore.ours}/nfts/${readyBefore.nftId}` }] : []),
      { name: "nft", url: `${ready.ours}/nfts/${ready.nftId}`, profile: "nft" },
      { name: "ponderShape", url: `${ready.ponderShape}/nfts/${ready.nftId}` },
    ];
    const byPhase = new Map<string, Result[]>(phases.map((p) => [p.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const phase of phases) {
        // Profiles cover the first round only.
        if (round === 0 && phase.profile) await profiled(phase.profile);
        byPhase.get(phase.name)!.push(await cannon(phase.url, CONNECTIONS));
        if (round === 0 && phase.profile) await profiled(null);
      }
    }
    const median = (name: string) => {
      const results = byPhase.get(name) ?? [];
      return results.length ? [...results].sort((a, b) => a.rps - b.rps)[Math.floor(results.length / 2)] : undefined;
    };
    const bareResult = median("bare")!;
    const noopResult = median("noop")!;
    const nftResult = median("nft")!;
    const ponderShapeResult = median("ponderShape")!;
    const beforeNoop = median("beforeNoop");
    const beforeNft = median("beforeNft");
    const perRound = (name: string) =>
      byPhase
        .get(name)!
        .map((r, i) => `${((r.rps / byPhase.get("bare")![i]!.rps) * 100).toFixed(0)} %`)
        .join(", ");
    const owners = Array.from({ length: 200 }, () => ownerOf(Math.floor(Math.random() * (TOKENS - 5000))));
    const ownerRequests = owners.map((o) => ({ method: "GET" as const, path: `/nfts/owner/${o}?limit=50` }));
    const ownerHttp = await cannon(ready.ours, 10, ownerRequests);
    server.send({ type: "db" });
    const timings = await server.next<DbTimings>("db");
    const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

    const ratio = nftResult.rps / bareResult.rps;
    const allRequests = (name: string) => byPhase.get(name)!.reduce((n, r) => n + r.requests, 0);
    const rows: [string, Result][] = [
      ["bare Hono route (baseline)", bareResult],
      ["our app's middleware + empty handler", noopResult],
      ["GET /nfts/{id} (cached)", nftResult],
      ["GET /nfts/{id} (cached) behind Ponder's server cors (as in ponder start)", ponderShapeResult],
      ["GET /nfts/owner/{address} (10 conns, random owners)", ownerHttp],
    ];
    if (beforeNoop && beforeNft)
      rows.push([`before (${values.compare}): middleware + empty handler`, beforeNoop], [`before (${values.compare}): GET /nfts/{id} (cached)`, beforeNft]);
    console.log(`\n| measurement | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---|---|---|---|---|`);
    for (const [name, r] of rows) console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
    console.log(`\nGET /nfts/{id}: ${(ratio * 100).toFixed(0)} % of the bare route's throughput (target ≥ 60 %), p99 ${nftResult.p99} ms (target < 25 ms)`);
    console.log(`(median of ${ROUNDS} interleaved rounds; GET /nfts/{id} vs bare per round: ${perRound("nft")})`);
    if (beforeNft)
      console.log(
        `before: ${((beforeNft.rps / bareResult.rps) * 100).toFixed(0)} % of the bare route's throughput, p99 ${beforeNft.p99} ms (per round: ${perRound("beforeNft")})`,
      );
    const served = allRequests("noop") + allRequests("nft") + allRequests("ponderShape") + ownerHttp.requests;
    console.log(`request log lines written: ${timings.logLines.toLocaleString()} for ${served.toLocaleString()} requests to our app`);
    console.log(
      `owner query over ${TOKENS.toLocaleString()} tokens (listOwnerTokens, 500 random owners): p50 ${pct(timings.random, 50).toFixed(2)} ms, p99 ${pct(timings.random, 99).toFixed(2)} ms (target < 30 ms)`,
    );
    console.log(
      `owner query, 5,000-token holder (first / middle page): p50 ${pct(timings.whale, 50).toFixed(2)} ms, p99 ${pct(timings.whale, 99).toFixed(2)} ms`,
    );
  } finally {
    await Promise.all([server.stop(), before?.stop()]);
    if (values.profile) console.log(`server CPU profiles (bare, noop, nft) in ${PROFILE_DIR}`);
  }
}

if (values.serve) await serveMain();
else {
  await main();
  process.exit(0);
}
