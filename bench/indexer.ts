/**
 * `npm run bench:indexer [-- --size small|medium|large|1m | --events N] [--db pglite|postgres]
 *   [--repeat 3] [--realtime 40] [--api-load 5] [--cpu-prof] [--logs DIR] [--no-write]`
 *
 * 1. Starts a 3-chain devnet and generates a history of ~N events (batch mints, transfers, ONFT and
 *    adapter bridges delivered by the relayer), then mines 35 empty blocks so all of it is backfill.
 *    `--size 1m` mints 1,000,000 tokens (mintBatch ×2000 under a raised block gas limit).
 * 2. Backfills it with our indexer and with a minimal Ponder indexer that only records ERC-721
 *    Transfers (bench/minimal) — same chains, same database kind, each run on a fresh PGlite folder
 *    (or schema) and data folder — `--repeat` times, alternating which one goes first (M C, C M, …)
 *    so drift in the machine's load hits both; the ratio of each pair and their median are reported.
 *    Backfill time = Ponder's "Started fetching backfill" → "Completed backfill indexing" (JSON-RPC
 *    fetch + indexing, excluding build, database setup and index creation). The breakdown comes
 *    from Ponder's own metrics (`ponder_historical_*`: time waiting for fetched events vs indexing).
 * 3. Memory: the Ponder process's peak RSS (VmHWM of /proc/<pid>/status, sampled every 250 ms) for
 *    every run. On the last run of ours, with the index at head: realtime latency (mint one token at a
 *    time, block mined → visible through GraphQL, p50/p95), then `--api-load` seconds of autocannon
 *    on the same process (GraphQL owner query + GET /nfts/:id on random tokens), so the peak is the
 *    indexer+API process's (issue 8: < 500 MB at 1M tokens).
 * Prints the numbers and writes them to the "Indexer" section of BENCHMARKS.md (unless --no-write).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, userInfo } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
// @ts-expect-error autocannon ships no types
import autocannon from "autocannon";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../chain/onft.js";
import { createChainSigner } from "../chain/signer.js";
import { DEPLOYER_INDEX, devnetAccounts } from "../devnet/accounts.js";
import { type AnvilProcess, freePort, startAnvil } from "../devnet/anvil.js";
import type { Deployments } from "../chain/deployments.js";
import { startDevnet } from "../devnet/start.js";
import { generateHistory, syntheticOwner } from "../test/helpers/ponderHistory.js";
import { reconcile } from "../indexer/reconcile.js";
import { PONDER_BIN, ponderNodeArgs } from "../indexer/ponderProcess.js";
import { setupFromDeployments } from "../indexer/setup.js";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
/** Target events (small/medium/large) or, for 1m, tokens minted. */
const SIZES = { small: 5_000, medium: 20_000, large: 100_000, "1m": 1_000_000 } as const;

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    events: { type: "string" },
    db: { type: "string", default: "pglite" },
    repeat: { type: "string" },
    realtime: { type: "string", default: "40" },
    "api-load": { type: "string", default: "5" },
    "cpu-prof": { type: "boolean", default: false },
    logs: { type: "string" },
    "no-write": { type: "boolean", default: false },
    /** Only our indexer (no minimal baseline, no ratio): memory runs at 1m. */
    "no-baseline": { type: "boolean", default: false },
    /** Ponder's indexing cache cap (PONDER_CACHE_BYTES) in MB for both indexers; default 832 (indexer/ponderPreload.mjs). */
    "cache-mb": { type: "string" },
    /** V8 old-space limit of the Ponder processes (node --max-old-space-size); default 1536 (indexer/ponderProcess.ts). */
    "heap-mb": { type: "string" },
    /** Distinct token owners (large sizes: tokens / 10 by default, ~100k at 1m). */
    owners: { type: "string" },
    /** Large sizes: where the generated chains are saved (anvil --dump-state) and loaded from on the next run. */
    "state-dir": { type: "string" },
    /** Large sizes: seconds of each read measurement (owner query GraphQL/REST, GET /nfts/:id at 100 connections). */
    "read-seconds": { type: "string", default: "10" },
    /** Large sizes: skip the reconcile timing. */
    "no-reconcile": { type: "boolean", default: false },
  },
});
const targetEvents = values.events ? Number(values.events) : SIZES[values.size as keyof typeof SIZES];
if (!(targetEvents > 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --events N)`);
  process.exit(2);
}
const huge = targetEvents >= 200_000;
const owners = Number(values.owners ?? (huge ? Math.round(targetEvents / 10) : 0));
/** anvil at large sizes: no historical states kept per block (cloning a 300k-token state per block made each transaction take seconds), 1G-gas blocks. */
const HUGE_ANVIL_ARGS = ["--prune-history", "--gas-limit", "1000000000"];
const stateDir = path.resolve(ROOT, values["state-dir"] ?? path.join("bench/.state", `${targetEvents}-owners${owners}-v1`));
// Large histories take minutes per backfill: one pair by default.
const repeat = Math.max(1, Number(values.repeat ?? (huge ? 1 : 3)));
// Large sizes run on Postgres unless told otherwise (the 1M proof is a Postgres one).
const db = (values.db === "pglite" && process.argv.includes("--db")) || (!huge && values.db !== "postgres") ? "pglite" : "postgres";
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test";
// pg lets a connection string without a user override an explicit `user` option; it does fall back to PGUSER.
process.env.PGUSER ||= process.env.USER || userInfo().username;
const pgUser = () => process.env.PGUSER!;
const log = (line: string) => console.log(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}`);

type Memory = { peakRssMb: number; backfillPeakMb: number; afterBackfillRssMb: number };
/** CPU seconds used between "Started fetching backfill" and "Completed backfill indexing". */
type Cpu = { ponder: number; anvil: number };
type Run = {
  name: "minimal" | "cosmic";
  backfillMs: number;
  wallToHeadMs: number;
  events: number;
  metrics: string;
  output: string;
  url: string;
  child: ChildProcess;
  dataDir: string;
  schema: string;
  memory: Memory;
  cpu: Cpu;
  sampler: ReturnType<typeof sampleMemory>;
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

const stamp = (line: string) => {
  const m = /^(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : null;
};

/** VmRSS / VmHWM (peak) of a process in MB, sampled; the kernel keeps VmHWM, sampling only survives exit. */
function sampleMemory(pid: number) {
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
      return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
    } catch {
      return null;
    }
  };
  let last = { rss: 0, hwm: 0 };
  const tick = () => {
    const m = read();
    // A zombie (exited, not yet reaped) has no Vm* lines: keep the last reading.
    if (m && Number.isFinite(m.hwm)) last = { rss: m.rss, hwm: Math.max(last.hwm, m.hwm) };
  };
  tick();
  const timer = setInterval(tick, 250);
  return {
    now: () => (tick(), last),
    stop: () => (tick(), clearInterval(timer), last),
  };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Sum of a Prometheus series' samples whose labels match `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

async function runIndexer(
  name: Run["name"],
  root: string,
  deployments: Deployments,
  deploymentsFile: string,
  index: number,
  anvilPids: number[],
): Promise<Run> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `bench-${name}-`));
  const schema = `bench_${name}_${Date.now().toString(36)}`;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PONDER_TELEMETRY_DISABLED: "1",
    DEVNET_DEPLOYMENTS: deploymentsFile,
    PONDER_PGLITE_DIR: path.join(dataDir, "pglite"),
    // Our API's off-chain store, keys and job queue live in this run's folder (never the repo's .data,
    // which a developer's `npm run dev` may hold open), in-process (no Redis), with no rate limit on the load.
    DATA_DIR: path.join(dataDir, "data"),
    RATE_LIMIT_PER_IP: "1000000000",
    RATE_LIMIT_GRAPHQL_PER_IP: "1000000000",
    LOG_LEVEL: "warn",
    ...(values["cache-mb"] ? { PONDER_CACHE_BYTES: String(Number(values["cache-mb"]) * 1024 * 1024) } : {}),
  };
  for (const key of ["DATABASE_URL", "DATABASE_SCHEMA", "REDIS_URL"]) delete env[key];
  if (db === "postgres") {
    env.DATABASE_URL = PG_URL;
    env.PGUSER = pgUser();
  }
  const nodeArgs: string[] = values["heap-mb"] ? [`--max-old-space-size=${Number(values["heap-mb"])}`] : [];
  if (values["cpu-prof"]) {
    const dir = path.join(ROOT, "bench/.profiles");
    mkdirSync(dir, { recursive: true });
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-name", `indexer-${name}-${index}-${Date.now()}.cpuprofile`);
  }
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...ponderNodeArgs(nodeArgs),
      PONDER_BIN,
      "--root",
      root,
      "--log-level",
      "info",
      "--log-format",
      "pretty",
      "start",
      "--schema",
      schema,
      "--port",
      String(port),
    ],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const sampler = sampleMemory(child.pid!);
  let output = "";
  // CPU of the Ponder process and of the anvil chains over the backfill window (robust to the other
  // load of a shared machine, unlike wall time): snapshots when the two log lines go by.
  const anvilCpu = () => anvilPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  let cpuStart: Cpu | null = null;
  let cpuEnd: Cpu | null = null;
  const onOutput = (chunk: Buffer) => {
    output += chunk;
    if (!cpuStart && output.includes("Started fetching backfill")) cpuStart = { ponder: cpuSeconds(child.pid), anvil: anvilCpu() };
    if (!cpuEnd && output.includes("Completed backfill indexing")) cpuEnd = { ponder: cpuSeconds(child.pid), anvil: anvilCpu() };
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  const url = `http://127.0.0.1:${port}`;
  let backfillPeakMb = Number.NaN;
  for (;;) {
    // A V8 heap abort or a kill ends it with a signal (exitCode stays null).
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-3000)}`);
    if (Number.isNaN(backfillPeakMb) && output.includes("Completed backfill indexing")) backfillPeakMb = sampler.now().hwm;
    try {
      const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { id: number; block?: { number: number } }>;
      const indexed = new Map(Object.values(status).map((s) => [s.id, s.block?.number ?? -1]));
      const heads = await Promise.all(deployments.chains.map(async (c) => ({ id: c.chainId, head: Number(await rpc<string>(c.rpcUrl, "eth_blockNumber")) })));
      if (heads.every((h) => (indexed.get(h.id) ?? -1) >= h.head)) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallToHeadMs = performance.now() - started;
  const lines = output.split("\n");
  const start = lines.map((l) => (l.includes("Started fetching backfill") ? stamp(l) : null)).find((t) => t !== null);
  const done = lines.map((l) => (l.includes("Completed backfill indexing") ? stamp(l) : null)).find((t) => t !== null);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const events = metric(metrics, "ponder_indexing_completed_events");
  const mem = sampler.now();
  if (Number.isNaN(backfillPeakMb)) backfillPeakMb = mem.hwm;
  return {
    name,
    backfillMs: start != null && done != null ? done - start : Number.NaN,
    wallToHeadMs,
    events,
    metrics,
    output,
    url,
    child,
    dataDir,
    schema,
    memory: { peakRssMb: mem.hwm, backfillPeakMb, afterBackfillRssMb: mem.rss },
    cpu:
      cpuStart && cpuEnd
        ? { ponder: (cpuEnd as Cpu).ponder - (cpuStart as Cpu).ponder, anvil: (cpuEnd as Cpu).anvil - (cpuStart as Cpu).anvil }
        : { ponder: Number.NaN, anvil: Number.NaN },
    sampler,
  };
}

async function stopRun(run: Run) {
  if (run.child.exitCode === null) {
    const exited = new Promise((r) => run.child.once("exit", r));
    run.child.kill("SIGTERM");
    const t = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
  run.memory.peakRssMb = Math.max(run.memory.peakRssMb, run.sampler.stop().hwm);
  if (values.logs) {
    mkdirSync(values.logs, { recursive: true });
    writeFileSync(path.join(values.logs, `${run.name}-${run.schema}.log`), run.output);
    writeFileSync(path.join(values.logs, `${run.name}-${run.schema}.metrics`), run.metrics);
  }
  rmSync(run.dataDir, { recursive: true, force: true });
  if (db === "postgres") {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: PG_URL, user: pgUser() });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${run.schema}" CASCADE`);
    await client.end();
  }
}

/** On Postgres, Ponder's RPC cache (schema ponder_sync) is shared by every schema of the database: drop this devnet's rows. */
async function dropSyncRows(chainIds: number[]) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: PG_URL, user: pgUser() });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'ponder_sync' AND column_name = 'chain_id'`);
    for (const { table_name } of rows) await client.query(`DELETE FROM ponder_sync."${table_name}" WHERE chain_id = ANY($1::bigint[])`, [chainIds]);
  } finally {
    await client.end();
  }
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Where a backfill's time went, from Ponder's metrics (seconds, summed over chains). */
function breakdown(run: Run) {
  const m = run.metrics;
  const s = (name: string, labels: Record<string, string>) => metric(m, name, labels) / 1000;
  const fnSum = m
    .split("\n")
    .filter((l) => l.startsWith("ponder_indexing_function_duration_sum"))
    .map((l) => ({ event: /event="([^"]+)"/.exec(l)?.[1] ?? "?", ms: Number(l.split(" ").at(-1)) }))
    .sort((a, b) => b.ms - a.ms);
  return {
    waitForEvents: s("ponder_historical_concurrency_group_duration", { group: "extract" }),
    transform: s("ponder_historical_concurrency_group_duration", { group: "transform" }),
    prefetch: s("ponder_historical_transform_duration", { step: "prefetch" }),
    handlers: s("ponder_historical_transform_duration", { step: "index" }),
    flush: s("ponder_historical_transform_duration", { step: "load" }),
    commit:
      s("ponder_historical_transform_duration", { step: "commit" }) +
      s("ponder_historical_transform_duration", { step: "finalize" }) +
      s("ponder_historical_transform_duration", { step: "begin" }),
    cacheMisses: metric(m, "ponder_indexing_cache_requests_total", { type: "miss" }),
    rpcRequests: metric(m, "ponder_rpc_request_duration_count"),
    topHandlers: fnSum
      .slice(0, 4)
      .map((f) => `${f.event} ${(f.ms / 1000).toFixed(2)} s`)
      .join(", "),
  };
}

/** autocannon on the live index: GraphQL owner query and GET /nfts/:id over random minted tokens. */
async function apiLoad(url: string, deployments: Deployments, mintsPerChain: number, seconds: number) {
  const holders = devnetAccounts()
    .slice(1, 5)
    .map((a) => a.address.toLowerCase());
  const chains = deployments.chains;
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const ownerQuery = `query($o: String!, $c: Int) { tokens(where: { owner: $o, state: "present", chainId: $c }, orderBy: "tokenId", limit: 50) { totalCount items { chainId collection tokenId contract } pageInfo { hasNextPage endCursor } } }`;
  const result = await autocannon({
    url,
    connections: 10,
    duration: seconds,
    requests: [
      {
        method: "POST",
        path: "/graphql",
        headers: { "content-type": "application/json" },
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          body: JSON.stringify({ query: ownerQuery, variables: { o: pick(holders), c: pick(chains).chainId } }),
        }),
      },
      {
        method: "GET",
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          path: `/nfts/cosmic:${tokenIdInRange(pick(chains).eid, BigInt(1 + Math.floor(Math.random() * mintsPerChain)))}`,
        }),
      },
    ],
  });
  return {
    requests: result.requests.total as number,
    non2xx: result.non2xx as number,
    errors: result.errors as number,
    p50: result.latency.p50 as number,
    p99: result.latency.p99 as number,
  };
}

/** Large sizes: the owner query (GraphQL and REST, 1 and 10 connections) over random synthetic owners, and GET /nfts/:id at 100 connections. */
async function readMeasurements(url: string, deployments: Deployments, mintsPerChain: number, seconds: number) {
  const chains = deployments.chains;
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const owner = () => syntheticOwner(Math.floor(Math.random() * owners));
  const ownerQuery = `query($o: String!) { tokens(where: { owner: $o, state: "present" }, orderBy: "tokenId", limit: 50) { items { chainId collection tokenId contract } pageInfo { hasNextPage endCursor } } }`;
  const run = async (label: string, connections: number, request: Record<string, unknown>) => {
    const r = await autocannon({ url, connections, duration: seconds, requests: [request] });
    return {
      label,
      connections,
      rps: Math.round(r.requests.average as number),
      p50: r.latency.p50 as number,
      p99: r.latency.p99 as number,
      non2xx: r.non2xx as number,
      errors: r.errors as number,
    };
  };
  const graphqlOwner = {
    method: "POST",
    path: "/graphql",
    headers: { "content-type": "application/json" },
    setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify({ query: ownerQuery, variables: { o: owner() } }) }),
  };
  const restOwner = {
    method: "GET",
    setupRequest: (req: Record<string, unknown>) => ({ ...req, path: `/nfts/owner/${owner()}?limit=50` }),
  };
  // 1 connection: a query's own latency; 10: under load, where the p50 is mostly queueing (10 / req/s).
  return [
    await run("GraphQL owner query `tokens(where: {owner, state}, limit: 50)`", 1, graphqlOwner),
    await run("GraphQL owner query `tokens(where: {owner, state}, limit: 50)`", 10, graphqlOwner),
    await run("GET /nfts/owner/{address}?limit=50", 1, restOwner),
    await run("GET /nfts/owner/{address}?limit=50", 10, restOwner),
    await run("GET /nfts/{id}", 100, {
      method: "GET",
      setupRequest: (req: Record<string, unknown>) => ({
        ...req,
        path: `/nfts/cosmic:${tokenIdInRange(pick(chains).eid, BigInt(1 + Math.floor(Math.random() * mintsPerChain)))}`,
      }),
    }),
  ];
}

async function realtime(run: Run, deployments: Deployments, count: number) {
  const a = deployments.chains[0]!;
  const cosmic = deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === a.chainId)!;
  const signer = createChainSigner({ chainId: a.chainId, rpcUrl: a.rpcUrl, privateKey: devnetAccounts()[DEPLOYER_INDEX]!.privateKey, pollingInterval: 5 });
  const latencies: number[] = [];
  const recipient = devnetAccounts()[5]!.address;
  for (let i = 0; i < count; i++) {
    const id = tokenIdInRange(a.eid, BigInt(10_000_000 + i));
    const hash = await signer.walletClient.writeContract({
      address: cosmic.address,
      abi: CosmicONFT721Abi,
      functionName: "mint",
      args: [recipient, id],
      gas: 300_000n,
      chain: signer.walletClient.chain,
      account: signer.walletClient.account!,
    });
    const receipt = await signer.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5, timeout: 15_000 }).catch(() => null);
    if (!receipt) {
      log(`realtime mint ${i} not mined in 15 s; stopping the realtime measurement`);
      break;
    }
    const mined = performance.now();
    for (;;) {
      const res = await fetch(`${run.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: `query($c: Float!, $a: String!, $id: BigInt!) { token(chainId: $c, contract: $a, tokenId: $id) { owner } }`,
          variables: { c: a.chainId, a: cosmic.address.toLowerCase(), id: String(id) },
        }),
      });
      const body = (await res.json()) as { data?: { token: unknown } };
      if (body.data?.token) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    latencies.push(performance.now() - mined);
  }
  return latencies;
}

type HistoryResult = Awaited<ReturnType<typeof generateHistory>> & { seconds?: number };

function historyPlan() {
  // ~1 Transfer per mint; bridges and transfers add a few % of other events (a fixed handful at 1m).
  // Large histories (≥ 200k, e.g. 1m): the target counts tokens, plus a fixed handful of transfers and
  // bridges, to `owners` distinct owners.
  const mintsPerChain = huge ? Math.ceil(targetEvents / 3) : Math.ceil((targetEvents * 0.94) / 3);
  const transfersPerChain = huge ? 50 : Math.max(10, Math.floor((targetEvents * 0.03) / 3));
  const bridgesPerChain = huge ? 5 : Math.max(3, Math.floor(targetEvents * 0.002));
  // Large histories: 2,000 tokens per mintBatch (~140M gas) under a 1G-gas block limit, sent without estimation.
  const batchSize = huge ? 2000 : 200;
  return { mintsPerChain, transfersPerChain, bridgesPerChain, batchSize };
}

function historyOptions(): Parameters<typeof generateHistory>[1] {
  const { mintsPerChain, transfersPerChain, bridgesPerChain, batchSize } = historyPlan();
  return {
    mintsPerChain,
    batchSize,
    transfersPerChain,
    bridgesPerChain,
    failedBridges: 1,
    // Parallel transfers from several holders sometimes leave one transaction never mined by anvil
    // (not understood, RESILIENCE.md); a long generation is not worth that risk.
    concurrency: huge ? 1 : 8,
    log,
    ...(huge ? { mintGas: 300_000_000n, owners } : {}),
  };
}

/** Large sizes: generates the history once into `stateDir` (deployments, one anvil state per chain). */
async function ensureSavedHistory(basePort: number) {
  if (existsSync(path.join(stateDir, "history.json"))) return;
  mkdirSync(stateDir, { recursive: true });
  const deploymentsFile = path.join(stateDir, "deployments.json");
  log(`generating the history into ${path.relative(ROOT, stateDir)} (once; later runs load it)`);
  const devnet = await startDevnet({
    chains: 3,
    basePort,
    baseChainId: 200_000 + Math.floor(Math.random() * 700_000),
    deploymentsFile,
    anvilArgs: (i) => [...HUGE_ANVIL_ARGS, "--dump-state", path.join(stateDir, `chain-${i}.json`)],
  });
  try {
    const t0 = performance.now();
    const history = await generateHistory(devnet.deployments, historyOptions());
    const seconds = (performance.now() - t0) / 1000;
    log(`history generated in ${seconds.toFixed(0)} s: ${JSON.stringify(history)}; saving the chains' state`);
    await devnet.stop();
    writeFileSync(path.join(stateDir, "history.json"), JSON.stringify({ ...history, seconds }));
  } catch (error) {
    await devnet.stop();
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts one anvil per saved chain (--load-state) with the saved chain ids, on fresh ports; polling (no head relay). */
async function loadSavedDevnet(
  dir: string,
  basePort: number,
  deploymentsFile: string,
): Promise<{ deployments: Deployments; anvils: AnvilProcess[]; stop(): Promise<void> }> {
  const saved = JSON.parse(readFileSync(path.join(dir, "deployments.json"), "utf8")) as Deployments;
  const t0 = performance.now();
  const started = await Promise.allSettled(
    saved.chains.map(async (c, i) =>
      startAnvil({
        port: await freePort().catch(() => basePort + i),
        chainId: c.chainId,
        extraArgs: [...HUGE_ANVIL_ARGS, "--load-state", path.join(dir, `chain-${i}.json`)],
      }),
    ),
  );
  const failure = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    // Stop the ones that did start (a port taken by another run fails one of them).
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw failure.reason;
  }
  const anvils = started.map((r) => (r as PromiseFulfilledResult<AnvilProcess>).value);
  log(`loaded ${anvils.length} saved chains in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const deployments: Deployments = { ...saved, chains: saved.chains.map((c, i) => ({ ...c, rpcUrl: anvils[i]!.rpcUrl, wsUrl: undefined })) };
  writeFileSync(deploymentsFile, `${JSON.stringify(deployments, null, 2)}\n`);
  return { deployments, anvils, stop: async () => void (await Promise.all(anvils.map((a) => a.stop()))) };
}

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), "bench-devnet-"));
  const deploymentsFile = path.join(tmp, "deployments.json");
  const basePort = 30_000 + Math.floor(Math.random() * 20_000);
  // Large sizes: the chains are generated once, saved (anvil --dump-state) and loaded from there on
  // every run (--load-state): the index always comes from the chains' real blocks and logs.
  if (huge) await ensureSavedHistory(basePort);
  const devnet = huge
    ? await loadSavedDevnet(stateDir, basePort, deploymentsFile)
    : await startDevnet({ chains: 3, basePort, baseChainId: 200_000 + Math.floor(Math.random() * 700_000), deploymentsFile });
  const runs: Run[] = [];
  try {
    // The saved chains keep their chain ids: a crashed earlier run may have left their RPC cache behind.
    if (huge && db === "postgres") await dropSyncRows(devnet.deployments.chains.map((c) => c.chainId));
    const { mintsPerChain, transfersPerChain, bridgesPerChain, batchSize } = historyPlan();
    const t0 = performance.now();
    const history = huge
      ? (JSON.parse(readFileSync(path.join(stateDir, "history.json"), "utf8")) as HistoryResult)
      : await generateHistory(devnet.deployments, historyOptions());
    const historySeconds = huge
      ? (JSON.parse(readFileSync(path.join(stateDir, "history.json"), "utf8")) as { seconds: number }).seconds
      : (performance.now() - t0) / 1000;
    log(
      `history ${huge ? `loaded from ${path.relative(ROOT, stateDir)} in ${((performance.now() - t0) / 1000).toFixed(1)} s (generated in ${historySeconds.toFixed(0)} s)` : `generated in ${historySeconds.toFixed(1)} s`}: ${JSON.stringify(history)}`,
    );
    void transfersPerChain;
    void bridgesPerChain;

    // Pairs alternate the order (M C, C M, M C, …). Each run has its own fresh PGlite folder, so
    // neither benefits from the other's RPC cache (on Postgres ponder_sync is shared by the schemas
    // of one database: the second of a pair then reads some logs from that cache; PGlite is the default).
    const pairs: { minimal: Run; cosmic: Run }[] = [];
    for (let i = 0; i < repeat; i++) {
      const order: Run["name"][] = values["no-baseline"] ? ["cosmic"] : i % 2 === 0 ? ["minimal", "cosmic"] : ["cosmic", "minimal"];
      const pair: Partial<Record<Run["name"], Run>> = {};
      for (const name of order) {
        const last = i === repeat - 1 && name === "cosmic";
        // On Postgres, Ponder's RPC cache (ponder_sync) is shared by every schema: empty it so the second
        // of a pair fetches from the chains too (otherwise it reads the first one's logs and blocks).
        if (db === "postgres") await dropSyncRows(devnet.deployments.chains.map((c) => c.chainId));
        log(`pair ${i + 1}/${repeat}: ${name}…`);
        const run = await runIndexer(
          name,
          name === "minimal" ? path.join(ROOT, "bench/minimal") : ROOT,
          devnet.deployments,
          deploymentsFile,
          i,
          devnet.anvils.map((a) => a.process.pid!),
        );
        runs.push(run);
        pair[name] = run;
        log(
          `${name}: ${run.events} events, backfill ${run.backfillMs} ms, CPU ${run.cpu.ponder.toFixed(2)} s (+ anvil ${run.cpu.anvil.toFixed(2)} s), peak RSS ${run.memory.backfillPeakMb.toFixed(0)} MB`,
        );
        if (!last) await stopRun(run);
      }
      // Without a baseline the cosmic run stands in for it (ratio 1): the table then only reports ours.
      pairs.push({ minimal: pair.minimal ?? pair.cosmic!, cosmic: pair.cosmic! });
    }
    const ours = pairs.at(-1)!.cosmic;

    // With the last cosmic run at head: realtime latency, then API load on the same process.
    const latencies = Number(values.realtime) > 0 ? await realtime(ours, devnet.deployments, Number(values.realtime)) : [];
    const loadSeconds = Number(values["api-load"]);
    const load = loadSeconds > 0 ? await apiLoad(ours.url, devnet.deployments, mintsPerChain, loadSeconds) : null;
    if (load) log(`API load: ${JSON.stringify(load)}`);
    const reads = huge ? await readMeasurements(ours.url, devnet.deployments, mintsPerChain, Number(values["read-seconds"])) : [];
    for (const r of reads)
      log(
        `read: ${r.label}, ${r.connections} connection${r.connections === 1 ? "" : "s"}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.non2xx} non-2xx, ${r.errors} errors)`,
      );
    let reconcileLine = "";
    if (huge && !values["no-reconcile"]) {
      const t = performance.now();
      const result = await reconcile(setupFromDeployments(devnet.deployments), ours.url);
      reconcileLine = `Reconcile (every indexed token against ownerOf at the indexed block): **${((performance.now() - t) / 1000).toFixed(0)} s** for ${result.checkedTokens} tokens on ${result.checkedChains} chains, ${result.mismatches.length} mismatches.`;
      log(reconcileLine);
    }
    await stopRun(ours);

    const ratios = pairs.map((p) => p.cosmic.backfillMs / p.minimal.backfillMs);
    const ratio = median(ratios);
    const cpuRatios = pairs.map((p) => p.cosmic.cpu.ponder / p.minimal.cpu.ponder);
    const totalCpuRatios = pairs.map((p) => (p.cosmic.cpu.ponder + p.cosmic.cpu.anvil) / (p.minimal.cpu.ponder + p.minimal.cpu.anvil));
    // The table rows show the pair with the median ratio (bench/lib/parsers.ts reads them).
    const mid = pairs[ratios.indexOf([...ratios].sort((a, b) => a - b)[Math.floor((ratios.length - 1) / 2)]!)]!;
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    const mb = (x: number) => x.toFixed(0);
    const rows = [
      `| indexer | indexed events | backfill (s) | events/s | start → head (s) | peak RSS (MB) |`,
      `|---|---:|---:|---:|---:|---:|`,
      ...(values["no-baseline"] ? [mid.cosmic] : [mid.minimal, mid.cosmic]).map(
        (r) =>
          `| ${r.name === "minimal" ? "minimal (ERC-721 Transfer only)" : "cosmic (this indexer)"} | ${r.events} | ${(r.backfillMs / 1000).toFixed(2)} | ${Math.round(r.events / (r.backfillMs / 1000))} | ${(r.wallToHeadMs / 1000).toFixed(1)} | ${mb(Math.max(...pairs.map((p) => p[r.name].memory.backfillPeakMb)))} |`,
      ),
    ];
    const detail = [
      `| pair | order | minimal backfill (s) | cosmic backfill (s) | ratio | minimal CPU ponder + anvil (s) | cosmic CPU ponder + anvil (s) | CPU ratio | minimal wait/index (s) | cosmic wait/index (s) |`,
      `|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
      ...pairs.map((p, i) => {
        const bm = breakdown(p.minimal);
        const bc = breakdown(p.cosmic);
        return `| ${i + 1} | ${i % 2 === 0 ? "M, C" : "C, M"} | ${(p.minimal.backfillMs / 1000).toFixed(2)} | ${(p.cosmic.backfillMs / 1000).toFixed(2)} | ${ratios[i]!.toFixed(2)}× | ${p.minimal.cpu.ponder.toFixed(2)} + ${p.minimal.cpu.anvil.toFixed(2)} | ${p.cosmic.cpu.ponder.toFixed(2)} + ${p.cosmic.cpu.anvil.toFixed(2)} | ${cpuRatios[i]!.toFixed(2)}× (${totalCpuRatios[i]!.toFixed(2)}×) | ${bm.waitForEvents.toFixed(2)} / ${bm.transform.toFixed(2)} | ${bc.waitForEvents.toFixed(2)} / ${bc.transform.toFixed(2)} |`;
      }),
    ];
    const bm = breakdown(mid.minimal);
    const bc = breakdown(mid.cosmic);
    const split = (b: ReturnType<typeof breakdown>) =>
      `prefetch ${b.prefetch.toFixed(2)} s, handlers ${b.handlers.toFixed(2)} s, flush ${b.flush.toFixed(2)} s, commit ${b.commit.toFixed(2)} s; cache misses ${b.cacheMisses}; RPC requests ${b.rpcRequests}; slowest handlers: ${b.topHandlers}`;
    const baselineLines = values["no-baseline"]
      ? []
      : [
          `Backfill time ratio cosmic / minimal: **${ratio.toFixed(2)}×** (target ≤ 1.15×), median of ${pairs.length} pair(s): ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")}.`,
          `CPU time of the backfill (Ponder process; a shared machine's load barely moves it): cosmic / minimal **${median(cpuRatios).toFixed(2)}×** (${cpuRatios.map((r) => `${r.toFixed(2)}×`).join(", ")}); with the anvil chains' CPU: ${median(totalCpuRatios).toFixed(2)}×.`,
        ];
    const summary = [
      ...rows,
      "",
      ...baselineLines,
      ...(values["cache-mb"] ? [`Ponder indexing cache capped at ${values["cache-mb"]} MB (PONDER_CACHE_BYTES).`] : []),
      ...(values["heap-mb"] ? [`Ponder processes run with --max-old-space-size=${values["heap-mb"]}.`] : []),
      `Realtime, block mined → visible in GraphQL (${latencies.length} mints, pollingInterval 100 ms): p50 **${p50.toFixed(0)} ms**, p95 **${p95.toFixed(0)} ms**.`,
      ...(reads.length
        ? [
            `Reads at ${history.mints} tokens / ${owners} owners (autocannon, ${values["read-seconds"]} s each, random owners and tokens):`,
            "",
            "| read | connections | req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|",
            ...reads.map((r) => `| ${r.label} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} |`),
            "",
          ]
        : []),
      ...(reconcileLine ? [reconcileLine] : []),
      `Peak RSS of the indexer+API process (VmHWM): **${mb(ours.memory.peakRssMb)} MB**${load ? ` after ${loadSeconds} s of API load (GraphQL owner query + GET /nfts/:id, 10 connections: ${load.requests} requests, ${load.non2xx} non-2xx, ${load.errors} errors, p50 ${load.p50} ms, p99 ${load.p99} ms)` : ""}; at the end of its backfill ${mb(ours.memory.backfillPeakMb)} MB${values["no-baseline"] ? "" : `; minimal indexer ${mb(Math.max(...pairs.map((p) => p.minimal.memory.peakRssMb)))} MB`} (target < 600 MB at 1M tokens).`,
      "",
      ...detail,
      "",
      `Where the median pair's backfill went (Ponder metrics; "wait" = indexing waited for fetched/decoded events, "index" = indexing work):`,
      ...(values["no-baseline"] ? [] : [`- minimal: ${split(bm)}`]),
      `- cosmic: ${split(bc)}`,
    ];
    console.log(`\n${summary.join("\n")}\n`);

    if (!values["no-write"]) {
      const file = path.join(ROOT, "BENCHMARKS.md");
      const begin = "<!-- indexer-bench:begin -->";
      const end = "<!-- indexer-bench:end -->";
      const section = [
        begin,
        "## Indexer (bench/indexer.ts)",
        "",
        `Run: \`npm run bench:indexer -- --size ${values.events ? `custom --events ${targetEvents}` : values.size} --db ${db}\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, ponder 0.16.10, 3 anvil chains (automine), ${db}.`,
        `History: ${history.mints} mints (mintBatch ×${batchSize}), ${history.transfers} transfers, ${history.bridges} bridges (${history.failed} failed), then 35 empty blocks; generated in ${historySeconds.toFixed(0)} s.`,
        'Backfill = Ponder\'s "Started fetching backfill" → "Completed backfill indexing" (RPC fetch + indexing); events = ponder_indexing_completed_events.',
        "",
        ...summary,
        "",
        "Reproduce: `npm run bench:indexer` (small, ~5k events, 3 pairs), `-- --size medium` (~20k) or `-- --size large` (~100k), `-- --size 1m` (1M tokens, one pair); `-- --db postgres` for Postgres at 127.0.0.1:5432/test.",
        end,
      ].join("\n");
      const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
      const next = current.includes(begin) ? current.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${current.trimEnd()}\n\n${section}\n`;
      writeFileSync(file, next);
      log(`written to BENCHMARKS.md`);
    }
  } finally {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill("SIGKILL");
    for (const run of runs) rmSync(run.dataDir, { recursive: true, force: true });
    await devnet.stop();
    rmSync(tmp, { recursive: true, force: true });
    if (db === "postgres") await dropSyncRows(devnet.deployments.chains.map((c) => c.chainId)).catch((e) => log(`ponder_sync cleanup failed: ${e}`));
    for (const f of ["bench/minimal/ponder-env.d.ts"]) rmSync(path.join(ROOT, f), { force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
