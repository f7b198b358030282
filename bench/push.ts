/**
 * `npm run bench:push [-- --size small|medium|large | --samples N] [--idle-s 60] [--settle-s 20] [--chains 3] [--postgres]`
 *
 * What a developer's laptop pays for `npm run dev`, and how fast a block reaches a client, with
 * pushed heads (the default) against polling, both measured in the same run. Each mode starts the
 * real dev stack (`scripts/dev.ts`: anvil chains, the WebSocket head relays, LayerZero's workers,
 * Ponder with the API and the in-process realtime service) on embedded PGlite (Postgres with
 * `--postgres`), then:
 *   1. idle: CPU % of a core of each process over `--idle-s` seconds with no transaction
 *      (/proc/<pid>/stat utime + stime; the dev orchestrator holds the relays and the workers);
 *   2. mints: block mined → the Transfer row visible in GraphQL (odd samples), and → the
 *      `nft:minted` push on a socket in `collection:cosmic` (even samples, with no poller running);
 *   3. bridges: the destination's ONFTReceived → `GET /bridge/{guid}` answers DELIVERED (odd
 *      samples), → Ponder's GraphQL shows the bridgeReceive DELIVERED (even samples: the index alone).
 * t0 is when this process receives the log through its own `eth_subscribe("logs")` on anvil (pushed
 * as the block is mined). GraphQL and REST are polled every `--poll-ms` (2 ms).
 *
 * Modes: push = the defaults (Ponder on `ws`, notifier and tracker woken by Ponder's commits and new
 * heads, REALTIME_IDLE_TICK_MS 1000); poll (baseline) = PONDER_WS=0 and REALTIME_IDLE_TICK_MS=100,
 * the configuration before heads were pushed (Ponder polling every 100 ms, the notifier ticking
 * every 100 ms). Targets (issue 18): idle Ponder < 3 % of a core; block → GraphQL p50 < 30 ms;
 * block → push p50 < 50 ms; ONFTReceived → DELIVERED p50 < 50 ms.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Hex, createPublicClient, getAbiItem, webSocket } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { sendToken, tokenIdInRange } from "../chain/onft.js";
import { type Deployments, readDeployments } from "../chain/deployments.js";
import { collectionOn, deployer, freeBasePort, signerFor } from "../test/helpers/devnet.js";
import { POSTGRES_URL } from "../test/helpers/ponder.js";
import { type TestSocket, connect } from "../test/realtime/helpers.js";
import { pct, sleep, within } from "./lib/timing.js";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const SIZES = { small: 20, medium: 50, large: 100 } as const;
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    samples: { type: "string" },
    "idle-s": { type: "string", default: "60" },
    "settle-s": { type: "string", default: "20" },
    chains: { type: "string", default: "3" },
    "poll-ms": { type: "string", default: "2" },
    postgres: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const samples = values.samples ? Number(values.samples) : SIZES[values.size as keyof typeof SIZES];
const idleS = Number(values["idle-s"]);
const chains = Number(values.chains);
const pollMs = Number(values["poll-ms"]);
if (!(samples > 0) || !(idleS > 0) || !(chains >= 2) || !(pollMs >= 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --samples N); --idle-s > 0; --chains ≥ 2; --poll-ms ≥ 0`);
  process.exit(2);
}
const log = (line: string) => console.log(`[bench] ${line}`);

type Mode = { name: "push" | "poll"; env: Record<string, string> };
const MODES: Mode[] = [
  { name: "poll", env: { PONDER_WS: "0", REALTIME_IDLE_TICK_MS: "100" } },
  { name: "push", env: {} },
];

// ---- processes and their CPU time -------------------------------------------------------------

const TICKS_PER_S = 100; // USER_HZ on Linux
/** utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {}
  }
  return out;
}
function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
/** The dev stack's processes, named: the orchestrator, ponder, one anvil per chain. */
function processTree(root: number): { pid: number; name: string }[] {
  const out = [{ pid: root, name: "dev (relays + LayerZero workers)" }];
  let anvils = 0;
  for (const pid of childrenOf(root)) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    if (cmd.includes("ponder")) out.push({ pid, name: "ponder (indexer + API + realtime)" });
    else if (cmd.includes("anvil")) out.push({ pid, name: `anvil #${++anvils}` });
    else out.push({ pid, name: cmd.slice(0, 40) });
  }
  return out;
}

// ---- one mode ---------------------------------------------------------------------------------

type ModeResult = { cpu: Map<string, number>; gql: number[]; push: number[]; delivered: number[]; deliveredIndexed: number[] };

async function runMode(mode: Mode): Promise<ModeResult> {
  const basePort = await freeBasePort(chains);
  const port = await freeBasePort(1);
  const realtimePort = await freeBasePort(1);
  const deploymentsFile = path.join(tmpdir(), `cosmic-bench-push-${process.pid}-${mode.name}.json`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...mode.env,
    DEVNET_CHAINS: String(chains),
    DEVNET_PORT: String(basePort),
    DEVNET_DEPLOYMENTS: deploymentsFile,
    PORT: String(port),
    REALTIME_PORT: String(realtimePort),
    // The pollers send hundreds of requests a second from one IP.
    RATE_LIMIT_PER_IP: "100000000",
    RATE_LIMIT_GRAPHQL_PER_IP: "100000000",
    LOG_LEVEL: "warn",
    PONDER_LOG_LEVEL: "warn",
  };
  // Embedded defaults unless asked: what `npm run dev` runs on a fresh machine.
  delete env.REDIS_URL;
  if (values.postgres) env.DATABASE_URL = POSTGRES_URL;
  else delete env.DATABASE_URL;
  for (const k of Object.keys(env)) if (k.startsWith("WS_URL_") || k.startsWith("RPC_URL_")) delete env[k];

  const dev = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/dev.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/ready in [\d.]+ s/.test(output)) resolve();
    };
    dev.stdout!.on("data", onData);
    dev.stderr!.on("data", onData);
    dev.once("exit", (code) => reject(new Error(`dev exited (${code}) before ready:\n${output.slice(-3000)}`)));
  });
  let devnetId: string | undefined;
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  };
  const cleanups: (() => Promise<unknown>)[] = [
    async () => {
      await stop(dev);
      rmSync(deploymentsFile, { force: true });
      if (devnetId) rmSync(path.join(ROOT, ".ponder", devnetId), { recursive: true, force: true });
    },
  ];
  try {
    const startedAt = performance.now();
    await within(180_000, "the dev stack to be ready", ready);
    const deployments: Deployments = readDeployments(deploymentsFile);
    devnetId = deployments.devnetId;
    log(
      `${mode.name}: dev stack ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (${chains} chains${values.postgres ? ", Postgres" : ", PGlite"}${
        Object.keys(mode.env).length
          ? `, ${Object.entries(mode.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}`
          : ""
      })`,
    );
    const api = `http://127.0.0.1:${port}`;

    // 1. Idle: nothing happens for idleS seconds, after a settle (the ready check's requests, and
    // Ponder's and PGlite's own work right after the backfill).
    await sleep(Number(values["settle-s"]) * 1000);
    const procs = processTree(dev.pid!);
    const before = new Map(procs.map((p) => [p.pid, cpuTicks(p.pid)]));
    const t = performance.now();
    await sleep(idleS * 1000);
    const seconds = (performance.now() - t) / 1000;
    const cpu = new Map<string, number>();
    for (const p of procs) {
      const a = before.get(p.pid);
      const b = cpuTicks(p.pid);
      if (a === undefined || b === undefined) throw new Error(`${p.name} (pid ${p.pid}) exited during the idle window`);
      cpu.set(p.name, ((b - a) / TICKS_PER_S / seconds) * 100);
    }
    for (const [name, value] of cpu) log(`${mode.name}: idle CPU ${name}: ${value.toFixed(2)} % of a core`);
    log(`${mode.name}: idle CPU all processes: ${[...cpu.values()].reduce((a, b) => a + b, 0).toFixed(2)} % of a core over ${seconds.toFixed(0)} s`);

    // 2 + 3. Latencies.
    const [src, dst] = deployments.chains as [Deployments["chains"][0], Deployments["chains"][0]];
    const srcCosmic = collectionOn(deployments, "cosmic", src.chainId);
    const dstCosmic = collectionOn(deployments, "cosmic", dst.chainId);
    const signer = signerFor(src, deployer.privateKey);
    const socket: TestSocket = await connect(`ws://127.0.0.1:${realtimePort}/ws`);
    cleanups.unshift(async () => socket.close());
    socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
    await socket.next((m) => m.type === "subscribed");

    // Logs pushed by anvil itself: t0 of each sample.
    const seen = new Map<string, { at: number; block: bigint }>();
    const waiters = new Map<string, () => void>();
    const arrived = (key: string) =>
      seen.has(key)
        ? Promise.resolve(seen.get(key)!)
        : new Promise<{ at: number; block: bigint }>((resolve) => waiters.set(key, () => resolve(seen.get(key)!)));
    const watch = (rpcUrl: string, address: Hex, name: "Transfer" | "ONFTReceived", key: (args: any) => string) => {
      const client = createPublicClient({ transport: webSocket(rpcUrl.replace(/^http/, "ws")) });
      const unwatch = client.watchEvent({
        address,
        event: getAbiItem({ abi: CosmicONFT721Abi, name }) as any,
        strict: true,
        onLogs: (logs: any[]) => {
          const at = performance.now();
          for (const l of logs) {
            const k = key(l.args);
            seen.set(k, { at, block: l.blockNumber });
            waiters.get(k)?.();
          }
        },
        onError: (error: Error) => log(`${name} subscription error: ${error.message}`),
      });
      cleanups.unshift(async () => {
        unwatch();
        await client.transport.getRpcClient().then((c: { close(): void }) => c.close());
      });
    };
    watch(src.rpcUrl, srcCosmic.address, "Transfer", (a) => `transfer:${a.tokenId}:${a.from.toLowerCase()}`);
    watch(dst.rpcUrl, dstCosmic.address, "ONFTReceived", (a) => `received:${a.guid.toLowerCase()}`);
    const zero = "0x0000000000000000000000000000000000000000";
    // The subscriptions are open once a log arrives through them (eth_subscribe is not acknowledged
    // by viem's watchEvent): a warm-up mint, repeated until its Transfer is seen.
    for (let attempt = 0; ; attempt++) {
      const warmId = tokenIdInRange(src.eid, 40_000n + BigInt(attempt));
      await signer.write({ address: srcCosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [deployer.address, warmId] });
      const seenWarm = await within(5_000, "warm-up Transfer", arrived(`transfer:${warmId}:${zero}`)).then(
        () => true,
        () => false,
      );
      if (seenWarm) break;
      if (attempt === 4) throw new Error("the log subscriptions on anvil never delivered a warm-up Transfer");
    }

    /** How long each polled request took, per URL: a slow read adds up to its own duration to what it measures. */
    const requestMs = new Map<string, number[]>();
    async function pollUntil(url: string, init: RequestInit | undefined, done: (status: number, body: any) => boolean): Promise<number> {
      for (;;) {
        const started = performance.now();
        const res = await fetch(url, init);
        const body = await res.json().catch(() => null);
        const now = performance.now();
        (requestMs.get(url) ?? requestMs.set(url, []).get(url)!).push(now - started);
        if (res.status >= 500 || res.status === 429) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
        if (done(res.status, body)) return now;
        if (pollMs) await sleep(pollMs);
      }
    }
    const blockQuery = "query($c:Int!,$b:BigInt!){transfers(where:{chainId:$c,blockNumber:$b},limit:1){items{txHash}}}";
    const gqlVisible = (chainId: number, block: bigint) =>
      pollUntil(
        `${api}/graphql`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: blockQuery, variables: { c: chainId, b: block.toString() } }),
        },
        (_s, body) => (body?.data?.transfers?.items?.length ?? 0) > 0,
      );

    // Each latency is measured on its own samples: a 2 ms poller keeps a request in flight on the
    // same process (and, on PGlite, the same embedded database) the indexer and the notifier use,
    // so polling GraphQL while waiting for a push (or REST and GraphQL together) slows what it measures.
    const gql: number[] = [];
    const push: number[] = [];
    for (let i = 0; i < 2 * samples; i++) {
      const tokenId = tokenIdInRange(src.eid, 50_000n + BigInt(i));
      const viaPush = i % 2 === 1;
      await signer.write({ address: srcCosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [deployer.address, tokenId] });
      const { at: t0, block } = await within(30_000, `Transfer of ${tokenId}`, arrived(`transfer:${tokenId}:${zero}`));
      const pushed = socket.next((m) => m.type === "nft:minted" && m.data?.tokenId === String(tokenId), 30_000).then(() => performance.now());
      if (viaPush) push.push((await within(30_000, `mint ${tokenId} pushed`, pushed)) - t0);
      else {
        gql.push((await within(30_000, `mint ${tokenId} in GraphQL`, gqlVisible(src.chainId, block))) - t0);
        await within(30_000, `mint ${tokenId} pushed`, pushed);
      }
    }
    const delivered: number[] = [];
    const deliveredIndexed: number[] = [];
    const bridgeIds = Array.from({ length: 2 * samples }, (_, i) => tokenIdInRange(src.eid, 60_000n + BigInt(i)));
    await signer.write({
      address: srcCosmic.address,
      abi: CosmicONFT721Abi,
      functionName: "mintBatch",
      args: [bridgeIds.map(() => deployer.address), bridgeIds],
    });
    for (const [i, tokenId] of bridgeIds.entries()) {
      const sent = await sendToken({ signer, deployment: srcCosmic, tokenId, dstEid: dst.eid, to: deployer.address });
      const guid = sent.guid.toLowerCase();
      const { at: t0 } = await within(30_000, `ONFTReceived of ${guid}`, arrived(`received:${guid}`));
      // Every other bridge: the same fact through Ponder's GraphQL (the index alone, no REST read).
      const at = await within(
        30_000,
        `bridge ${guid} DELIVERED`,
        i % 2 === 0
          ? pollUntil(`${api}/bridge/${guid}`, undefined, (status, body) => status === 200 && body?.status === "DELIVERED")
          : pollUntil(
              `${api}/graphql`,
              {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ query: `query($g: String!) { bridgeReceives(where: { guid: $g }) { items { status } } }`, variables: { g: guid } }),
              },
              (_s, body) => body?.data?.bridgeReceives?.items?.[0]?.status === "DELIVERED",
            ),
      );
      (i % 2 === 0 ? delivered : deliveredIndexed).push(at - t0);
    }
    const line = (label: string, xs: number[]) => `${mode.name}: ${label} p50 ${pct(xs, 50).toFixed(0)} ms p95 ${pct(xs, 95).toFixed(0)} ms (n=${xs.length})`;
    log(line("block mined → GraphQL", gql));
    log(line("block mined → WebSocket push", push));
    log(line("ONFTReceived → REST DELIVERED", delivered));
    log(line("ONFTReceived → GraphQL bridgeReceive DELIVERED (the index alone)", deliveredIndexed));
    for (const [url, xs] of requestMs)
      if (url.includes("/bridge/")) requestMs.set("GET /bridge/{guid}", [...(requestMs.get("GET /bridge/{guid}") ?? []), ...xs]);
    for (const [url, xs] of requestMs) if (!url.includes("/bridge/0x")) log(line(`one polled request ${url.replace(api, "")}`, xs));
    return { cpu, gql, push, delivered, deliveredIndexed };
  } finally {
    for (const fn of cleanups) await fn().catch((e) => log(`cleanup: ${e instanceof Error ? e.message : e}`));
  }
}

let exitCode = 0;
try {
  const results = new Map<string, ModeResult>();
  for (const mode of MODES) if (!values.only || values.only === mode.name) results.set(mode.name, await runMode(mode));
  const push = results.get("push");
  const ponderCpu = push?.cpu.get("ponder (indexer + API + realtime)");
  if (push && ponderCpu !== undefined) {
    const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
    log(
      `targets: idle Ponder < 3 %: ${verdict(ponderCpu < 3)}; block → GraphQL p50 < 30 ms: ${verdict(pct(push.gql, 50) < 30)}; block → push p50 < 50 ms: ${verdict(pct(push.push, 50) < 50)}; ONFTReceived → DELIVERED p50 < 50 ms: ${verdict(pct(push.delivered, 50) < 50)}`,
    );
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
}
process.exit(exitCode);
