/**
 * `npm run bench:ws-scale [-- --size small|medium|large | --sockets N] [--pushes 30] [--client-procs 2]`
 *
 * WebSocket fan-out at scale (issue 18 item 3): N concurrent sockets, each subscribed to one
 * collection room, on (a) one realtime process and (b) two replicas sharing Redis (N/2 each). The
 * servers are realtime/server.ts in child processes (bench/lib/wsScaleServer.ts); the sockets live in
 * `--client-procs` other child processes (bench/lib/wsScaleClients.ts) so the clients' own parsing
 * does not run on a server's event loop. This process publishes a push envelope on the Redis
 * `realtime` channel — what the notifier does once it has read a committed row — and the clients
 * timestamp its arrival on every socket (one clock: performance.timeOrigin + now).
 *
 * Reported per setup: latency publish → socket over every (push, socket) pair (p50/p99), and
 * publish → the *last* socket of each push (p50/p99: the fan-out's completion), memory per socket
 * of a server process (RSS and V8 heap after a full GC, minus the same before the sockets, / sockets),
 * server CPU per push (and its kernel share: the socket writes), the client processes' CPU per push
 * (on this machine they compete with the servers for the same cores). Baseline, same run: one socket on one process (Redis + one WebSocket hop).
 * Target: p99 < 100 ms. The sockets need file descriptors: each process holds at most N (+ a few)
 * of them, under the `ulimit -n` (20,000 on the bench machine; the bench refuses more than it allows).
 */
import { type ChildProcess, execSync, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RedisKeyValueStore } from "../infra/redis.js";
import { REALTIME_CHANNEL } from "../realtime/protocol.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SIZES = { small: 10_000, medium: 10_000, large: 18_000 } as const;
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    sockets: { type: "string" },
    pushes: { type: "string" },
    "client-procs": { type: "string", default: "2" },
  },
});
const sockets = values.sockets ? Number(values.sockets) : SIZES[values.size as keyof typeof SIZES];
const pushes = Number(values.pushes ?? (values.size === "small" ? 20 : 50));
const clientProcs = Math.max(1, Number(values["client-procs"]));
if (!(sockets > 0) || !(pushes > 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --sockets N)`);
  process.exit(2);
}
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const log = (line: string) => console.log(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}`);
const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

let fdLimit = Number.POSITIVE_INFINITY;
try {
  fdLimit = Number(execSync("ulimit -n", { shell: "/bin/sh" }).toString().trim()) || fdLimit;
} catch {}
if (sockets + 100 > fdLimit) {
  console.error(
    `${sockets} sockets on one server process need ~${sockets + 100} file descriptors; ulimit -n is ${fdLimit}: raise it (ulimit -n) or pass --sockets`,
  );
  process.exit(2);
}

type Mem = { rss: number; heapUsed: number; external: number; clients: number };
type Child = { proc: ChildProcess; next<T>(type: string, timeoutMs?: number): Promise<T>; stop(): Promise<void> };

function child(file: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = fork(path.join(HERE, file), args, {
    execArgv: ["--import", "tsx", "--expose-gc"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<string, ((m: unknown) => void)[]>();
  const queued = new Map<string, unknown[]>();
  proc.on("message", (m: { type: string }) => {
    const w = waiting.get(m.type);
    if (w?.length) w.shift()!(m);
    else queued.set(m.type, [...(queued.get(m.type) ?? []), m]);
  });
  return {
    proc,
    next<T>(type: string, timeoutMs = 120_000) {
      const q = queued.get(type);
      if (q?.length) return Promise.resolve(q.shift() as T);
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${file}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        waiting.set(type, [...(waiting.get(type) ?? []), (m) => (clearTimeout(t), resolve(m as T))]);
      });
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.send({ type: "stop" });
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

type Result = {
  label: string;
  sockets: number;
  servers: number;
  all: number[];
  last: number[];
  missed: number;
  memPerSocket?: { rssKb: number; heapKb: number };
  cpuMsPerPush: number;
  /** Of which in the kernel (socket writes). */
  sysMsPerPush: number;
  /** CPU of the client processes per push (they share the cores with the servers here). */
  clientMsPerPush: number;
};

async function scenario(label: string, total: number, serverCount: number, procs: number): Promise<Result> {
  const prefix = `wsbench:${randomUUID().slice(0, 8)}:`;
  const servers: Child[] = [];
  const clients: Child[] = [];
  const publisher = new RedisKeyValueStore(REDIS_URL, prefix);
  try {
    for (let i = 0; i < serverCount; i++) servers.push(child("lib/wsScaleServer.ts", [], { WS_BENCH_PREFIX: prefix }));
    const urls = (await Promise.all(servers.map((s) => s.next<{ port: number }>("ready")))).map((r) => `ws://127.0.0.1:${r.port}/ws`);
    const memBefore = await Promise.all(servers.map(async (s) => (s.proc.send({ type: "mem" }), s.next<Mem>("mem"))));
    const t0 = performance.now();
    const shares = Array.from(
      { length: Math.min(procs, total) },
      (_, i) => Math.floor(total / Math.min(procs, total)) + (i < total % Math.min(procs, total) ? 1 : 0),
    );
    for (const share of shares) clients.push(child("lib/wsScaleClients.ts", [String(share), ...urls], {}));
    const ready = await Promise.all(clients.map((c) => c.next<{ open: number; failed: number }>("ready", 300_000)));
    const open = ready.reduce((a, r) => a + r.open, 0);
    const failed = ready.reduce((a, r) => a + r.failed, 0);
    log(
      `${label}: ${open} sockets open and subscribed in ${((performance.now() - t0) / 1000).toFixed(1)} s (${failed} failed), ${serverCount} server process(es)`,
    );
    const memAfter = await Promise.all(servers.map(async (s) => (s.proc.send({ type: "mem" }), s.next<Mem>("mem"))));
    const cpu = async () => {
      const all = await Promise.all(servers.map(async (s) => (s.proc.send({ type: "cpu" }), s.next<{ seconds: number; system: number }>("cpu"))));
      const cl = await Promise.all(clients.map(async (s) => (s.proc.send({ type: "cpu" }), s.next<{ seconds: number; system: number }>("cpu"))));
      return { seconds: all.reduce((a, c) => a + c.seconds, 0), system: all.reduce((a, c) => a + c.system, 0), clients: cl.reduce((a, c) => a + c.seconds, 0) };
    };
    const data = {
      collection: "cosmic",
      chainId: 31337,
      tokenId: "50001000000000000000042",
      owner: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
      txHash: `0x${"ab".repeat(32)}`,
      blockNumber: "123456",
    };
    const all: number[] = [];
    const last: number[] = [];
    let missed = 0;
    // Warm-up push (JIT, Redis connections), not counted.
    for (let seq = -1; seq < pushes; seq++) {
      if (seq === 0) cpuAtStart = await cpu();
      const id = seq < 0 ? 999_999 : seq;
      const waits = clients.map((c) => c.next<{ seq: number; at: number[] }>("push", 15_000).catch(() => null));
      const at = now();
      await publisher.publish(REALTIME_CHANNEL, JSON.stringify({ type: "nft:minted", id: `ws-scale-${id}`, rooms: ["collection:cosmic"], data }));
      const got = await Promise.all(waits);
      if (seq < 0) continue;
      let max = 0;
      for (const g of got) {
        if (!g) {
          missed++;
          continue;
        }
        for (const t of g.at) {
          const ms = t - at;
          all.push(ms);
          if (ms > max) max = ms;
        }
      }
      last.push(max);
      await new Promise((r) => setTimeout(r, 100));
    }
    const cpuAtEnd = await cpu();
    const cpuMsPerPush = ((cpuAtEnd.seconds - cpuAtStart.seconds) * 1000) / pushes;
    const sysMsPerPush = ((cpuAtEnd.system - cpuAtStart.system) * 1000) / pushes;
    const clientMsPerPush = ((cpuAtEnd.clients - cpuAtStart.clients) * 1000) / pushes;
    const n = memAfter.reduce((a, m) => a + m.clients, 0);
    const memPerSocket =
      n > 100
        ? {
            rssKb: (memAfter.reduce((a, m) => a + m.rss, 0) - memBefore.reduce((a, m) => a + m.rss, 0)) / n / 1024,
            heapKb: (memAfter.reduce((a, m) => a + m.heapUsed + m.external, 0) - memBefore.reduce((a, m) => a + m.heapUsed + m.external, 0)) / n / 1024,
          }
        : undefined;
    return {
      label,
      sockets: open,
      servers: serverCount,
      all,
      last,
      missed,
      ...(memPerSocket ? { memPerSocket } : {}),
      cpuMsPerPush,
      sysMsPerPush,
      clientMsPerPush,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await publisher.close();
  }
}
let cpuAtStart = { seconds: 0, system: 0, clients: 0 };

log(
  `${sockets} sockets, ${pushes} pushes, ${clientProcs} client process(es); ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}; ulimit -n ${fdLimit}`,
);
const baseline = await scenario("baseline: 1 socket, 1 process", 1, 1, 1);
const one = await scenario(`${sockets} sockets, 1 process`, sockets, 1, clientProcs);
const two = await scenario(`${sockets} sockets, 2 replicas on Redis`, sockets, 2, clientProcs);
const f = (x: number) => (Number.isNaN(x) ? "—" : x < 10 ? x.toFixed(1) : x.toFixed(0));
const rows = [baseline, one, two].map(
  (r) =>
    `| ${r.label} | ${r.sockets} | ${f(pct(r.all, 50))} | ${f(pct(r.all, 99))} | ${f(pct(r.last, 50))} | ${f(pct(r.last, 99))} | ${r.memPerSocket ? `${r.memPerSocket.rssKb.toFixed(1)} / ${r.memPerSocket.heapKb.toFixed(1)}` : "—"} | ${r.cpuMsPerPush.toFixed(1)} (${r.sysMsPerPush.toFixed(1)}) | ${r.clientMsPerPush.toFixed(1)} | ${r.missed} |`,
);
console.log(
  [
    "",
    `WebSocket fan-out, publish on Redis → socket (${pushes} pushes; load average at end ${loadavg()[0]!.toFixed(1)}):`,
    "",
    "| setup | sockets | p50 ms (every socket) | p99 ms (every socket) | last socket p50 ms | last socket p99 ms | memory per socket KB (RSS / heap+external) | server CPU ms per push (of which kernel) | clients' CPU ms per push | pushes missed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `[bench] ws-scale one process: p50 ${f(pct(one.all, 50))} ms p99 ${f(pct(one.all, 99))} ms last p99 ${f(pct(one.last, 99))} ms sockets ${one.sockets} mem ${one.memPerSocket?.rssKb.toFixed(1) ?? "NaN"} KB`,
    `[bench] ws-scale two replicas: p50 ${f(pct(two.all, 50))} ms p99 ${f(pct(two.all, 99))} ms last p99 ${f(pct(two.last, 99))} ms sockets ${two.sockets} mem ${two.memPerSocket?.rssKb.toFixed(1) ?? "NaN"} KB`,
    `[bench] ws-scale baseline: p50 ${f(pct(baseline.all, 50))} ms p99 ${f(pct(baseline.all, 99))} ms`,
  ].join("\n"),
);
process.exit(0);
