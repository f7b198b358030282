/**
 * `npm run bench:indexer [-- --size small|medium|large | --events N] [--db pglite|postgres] [--realtime N]`
 *
 * 1. Starts a 3-chain devnet and generates a history of ~N events (batch mints, transfers, ONFT and
 *    adapter bridges delivered by the relayer), then mines 35 empty blocks so all of it is backfill.
 * 2. Backfills it with our indexer and with a minimal Ponder indexer that only records ERC-721
 *    Transfers (bench/minimal) — same chains, same run, each on a fresh PGlite folder (or schema).
 *    Backfill time is Ponder's own "Started fetching backfill" → "Completed backfill indexing".
 * 3. Realtime: with our indexer live, mints one token at a time and measures block mined →
 *    visible through GraphQL (p50/p95).
 * Prints the numbers and writes them to the "Indexer" section of BENCHMARKS.md.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { cpus, tmpdir, userInfo } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../chain/onft.js";
import { createChainSigner } from "../chain/signer.js";
import { DEPLOYER_INDEX, devnetAccounts } from "../devnet/accounts.js";
import { freePort } from "../devnet/anvil.js";
import type { Deployments } from "../devnet/deployments.js";
import { startDevnet } from "../devnet/start.js";
import { generateHistory } from "../test/helpers/ponderHistory.js";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const PONDER_BIN = path.join(ROOT, "node_modules/ponder/dist/esm/bin/ponder.js");
const SIZES = { small: 5_000, medium: 20_000, large: 100_000 } as const;

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    events: { type: "string" },
    db: { type: "string", default: "pglite" },
    realtime: { type: "string", default: "40" },
    "no-write": { type: "boolean", default: false },
  },
});
const targetEvents = values.events ? Number(values.events) : SIZES[values.size as keyof typeof SIZES];
if (!(targetEvents > 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --events N)`);
  process.exit(2);
}
const db = values.db === "postgres" ? "postgres" : "pglite";
const log = (line: string) => console.log(`[bench] ${line}`);

type Run = { name: string; backfillMs: number; wallToHeadMs: number; events: number; output: string; url: string; child: ChildProcess; dataDir: string; schema: string };

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return ((await res.json()) as { result: T }).result;
}

const stamp = (line: string) => {
  const m = /^(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : null;
};

async function runIndexer(name: string, root: string, deployments: Deployments, deploymentsFile: string): Promise<Run> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `bench-${name}-`));
  const schema = `bench_${name}_${Date.now().toString(36)}`;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PONDER_TELEMETRY_DISABLED: "1", DEVNET_DEPLOYMENTS: deploymentsFile, PONDER_PGLITE_DIR: path.join(dataDir, "pglite") };
  delete env.DATABASE_URL;
  if (db === "postgres") {
    env.DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test";
    env.PGUSER ??= process.env.USER || userInfo().username;
  }
  const started = performance.now();
  const child = spawn(process.execPath, [PONDER_BIN, "--root", root, "--log-level", "info", "--log-format", "pretty", "start", "--schema", schema, "--port", String(port)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c) => (output += c));
  child.stderr?.on("data", (c) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output.slice(-3000)}`);
    try {
      const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { id: number; block?: { number: number } }>;
      const indexed = new Map(Object.values(status).map((s) => [s.id, s.block?.number ?? -1]));
      const heads = await Promise.all(deployments.chains.map(async (c) => ({ id: c.chainId, head: Number(await rpc<string>(c.rpcUrl, "eth_blockNumber")) })));
      if (heads.every((h) => (indexed.get(h.id) ?? -1) >= h.head)) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  const wallToHeadMs = performance.now() - started;
  const lines = output.split("\n");
  const start = lines.map((l) => (l.includes("Started fetching backfill") ? stamp(l) : null)).find((t) => t !== null);
  const done = lines.map((l) => (l.includes("Completed backfill indexing") ? stamp(l) : null)).find((t) => t !== null);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const events = metrics
    .split("\n")
    .filter((l) => l.startsWith("ponder_indexing_completed_events"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
  return { name, backfillMs: start != null && done != null ? done - start : Number.NaN, wallToHeadMs, events, output, url, child, dataDir, schema };
}

async function stopRun(run: Run) {
  if (run.child.exitCode === null) {
    const exited = new Promise((r) => run.child.once("exit", r));
    run.child.kill("SIGTERM");
    const t = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
  rmSync(run.dataDir, { recursive: true, force: true });
  if (db === "postgres") {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test", user: process.env.PGUSER ?? (process.env.USER || userInfo().username) });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${run.schema}" CASCADE`);
    await client.end();
  }
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), "bench-devnet-"));
  const deploymentsFile = path.join(tmp, "deployments.json");
  const basePort = 30_000 + Math.floor(Math.random() * 20_000);
  const devnet = await startDevnet({ chains: 3, basePort, baseChainId: 200_000 + Math.floor(Math.random() * 700_000), deploymentsFile });
  const runs: Run[] = [];
  try {
    // ~1 Transfer per mint; bridges and transfers add a few % of other events.
    const mintsPerChain = Math.ceil((targetEvents * 0.94) / 3);
    const transfersPerChain = Math.max(10, Math.floor(targetEvents * 0.03 / 3));
    const bridgesPerChain = Math.max(3, Math.floor(targetEvents * 0.002));
    const t0 = performance.now();
    const history = await generateHistory(devnet.deployments, { mintsPerChain, batchSize: 200, transfersPerChain, bridgesPerChain, failedBridges: 1, concurrency: 8, log });
    log(`history generated in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(history)}`);

    // Minimal first, then ours: each on its own fresh data, so neither benefits from the other's RPC cache
    // (on Postgres ponder_sync is shared: run order then favours ours; PGlite is the default).
    log("backfill: minimal indexer…");
    const minimal = await runIndexer("minimal", path.join(ROOT, "bench/minimal"), devnet.deployments, deploymentsFile);
    runs.push(minimal);
    await stopRun(minimal);
    log(`minimal: ${minimal.events} events, backfill ${minimal.backfillMs} ms; our indexer…`);
    const ours = await runIndexer("cosmic", ROOT, devnet.deployments, deploymentsFile);
    runs.push(ours);
    log(`cosmic: ${ours.events} events, backfill ${ours.backfillMs} ms; realtime…`);

    // Realtime latency: block mined (receipt) → token visible through GraphQL.
    const a = devnet.deployments.chains[0]!;
    const cosmic = devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === a.chainId)!;
    const signer = createChainSigner({ chainId: a.chainId, rpcUrl: a.rpcUrl, privateKey: devnetAccounts()[DEPLOYER_INDEX]!.privateKey, pollingInterval: 5 });
    const latencies: number[] = [];
    const recipient = devnetAccounts()[5]!.address;
    for (let i = 0; i < Number(values.realtime); i++) {
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
        const res = await fetch(`${ours.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: `query($c: Float!, $a: String!, $id: BigInt!) { token(chainId: $c, contract: $a, tokenId: $id) { owner } }`, variables: { c: a.chainId, a: cosmic.address.toLowerCase(), id: String(id) } }),
        });
        const body = (await res.json()) as { data?: { token: unknown } };
        if (body.data?.token) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - mined);
    }
    await stopRun(ours);

    const ratio = ours.backfillMs / minimal.backfillMs;
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    const rows = [
      `| indexer | indexed events | backfill (s) | events/s | start → head (s) |`,
      `|---|---:|---:|---:|---:|`,
      ...[minimal, ours].map((r) => `| ${r.name === "minimal" ? "minimal (ERC-721 Transfer only)" : "cosmic (this indexer)"} | ${r.events} | ${(r.backfillMs / 1000).toFixed(2)} | ${Math.round(r.events / (r.backfillMs / 1000))} | ${(r.wallToHeadMs / 1000).toFixed(1)} |`),
    ];
    const summary = [
      ...rows,
      "",
      `Backfill time ratio cosmic / minimal: **${ratio.toFixed(2)}×** (target ≤ 1.15×).`,
      `Realtime, block mined → visible in GraphQL (${latencies.length} mints, pollingInterval 100 ms): p50 **${p50.toFixed(0)} ms**, p95 **${p95.toFixed(0)} ms**.`,
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
        `History: ${history.mints} mints (mintBatch ×200), ${history.transfers} transfers, ${history.bridges} bridges (${history.failed} failed), then 35 empty blocks; target ~${targetEvents} events.`,
        "Backfill = Ponder's \"Started fetching backfill\" → \"Completed backfill indexing\" (RPC fetch + indexing); events = ponder_indexing_completed_events.",
        "",
        ...summary,
        "",
        "Reproduce: `npm run bench:indexer` (small, ~5k events), `-- --size medium` (~20k) or `-- --size large` (~100k); `-- --db postgres` for Postgres at 127.0.0.1:5432/test.",
        end,
      ].join("\n");
      const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
      const next = current.includes(begin) ? current.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${current.trimEnd()}\n\n${section}\n`;
      writeFileSync(file, next);
      log(`written to BENCHMARKS.md`);
    }
  } finally {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill("SIGKILL");
    await devnet.stop();
    rmSync(tmp, { recursive: true, force: true });
    for (const f of ["bench/minimal/ponder-env.d.ts"]) rmSync(path.join(ROOT, f), { force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
