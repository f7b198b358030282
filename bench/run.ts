/**
 * `npm run bench [-- --size small|medium|large|1m] [--only indexer,ws-scale,realtime,…] [--no-write]`
 *
 * Runs every benchmark in bench/ one after the other (never in parallel: 2 cores), each as its own
 * child process with the same `--size`, parses the numbers it prints, and prints one table
 * (benchmark, metric, ours, baseline, ratio, target, pass/fail). Unless `--no-write`, the table and
 * the machine info replace the `suite` section of BENCHMARKS.md; other sections are left alone.
 * Each benchmark owns its parsing (bench/lib/parsers.ts) so a change in one's output breaks only its rows.
 */
import { spawn } from "node:child_process";
import { cpus, totalmem, loadavg } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BENCHMARKS, type Row } from "./lib/parsers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const size = values.size!;
// 1m: the indexer's explicit 1M-token proof (bench/indexer.ts --size 1m, ~30 min); every other benchmark runs at large.
if (!["small", "medium", "large", "1m"].includes(size)) throw new Error("--size small|medium|large|1m");
const only = values.only?.split(",");
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));

type Outcome = { name: string; code: number | null; seconds: number; rows: Row[]; error?: string };

function runOne(file: string, args: string[]): Promise<{ code: number | null; out: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, file), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const collect = (prefix: string) => (chunk: Buffer) => {
      out += chunk.toString();
      // Echo progress so a long run is not silent.
      for (const line of chunk.toString().split("\n")) if (line.trim()) process.stdout.write(`  ${prefix} ${line}\n`);
    };
    child.stdout.on("data", collect("│"));
    child.stderr.on("data", collect("!"));
    child.on("close", (code) => resolve({ code, out, seconds: (performance.now() - t0) / 1000 }));
  });
}

const fmt = (n: number | undefined, unit: string) =>
  n === undefined || Number.isNaN(n) ? "—" : `${Number.isInteger(n) ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${unit}`.trim();

function table(outcomes: Outcome[]): string[] {
  const lines = ["| benchmark | metric | ours | baseline | ratio | target | pass/fail |", "|---|---|---:|---:|---:|---|---|"];
  for (const o of outcomes) {
    if (o.error) lines.push(`| ${o.name} | (run failed: ${o.error}) | — | — | — | — | fail |`);
    for (const r of o.rows) {
      const ratio = r.ours !== undefined && r.baseline ? `${(r.ours / r.baseline).toFixed(2)}×` : "—";
      const verdict = r.pass === undefined ? "n/a" : r.pass ? "pass" : "fail";
      lines.push(`| ${o.name} | ${r.metric} | ${fmt(r.ours, r.unit)} | ${fmt(r.baseline, r.unit)} | ${ratio} | ${r.target ?? "—"} | ${verdict} |`);
    }
  }
  return lines;
}

async function main() {
  const started = new Date();
  const outcomes: Outcome[] = [];
  for (const b of selected) {
    const sizeFor = size === "1m" && b.name !== "indexer" ? "large" : size;
    console.log(`\n▶ ${b.name}: ${b.file} ${b.args(sizeFor).join(" ")}`);
    const { code, out, seconds } = await runOne(b.file, b.args(sizeFor));
    let rows: Row[] = [];
    let error: string | undefined;
    try {
      rows = b.parse(out, size);
    } catch (e) {
      error = (e as Error).message;
    }
    if (code !== 0) error = `exit ${code}${error ? `; ${error}` : ""}`;
    outcomes.push({ name: b.name, code, seconds, rows, ...(error ? { error } : {}) });
    console.log(`◀ ${b.name}: ${seconds.toFixed(0)} s, exit ${code}${error ? ` (${error})` : ""}`);
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average at start ${loadavg()[0]!.toFixed(1)}`;
  const lines = table(outcomes);
  console.log(`\n${lines.join("\n")}\n\n${machine}`);

  if (!values["no-write"]) {
    const file = path.join(ROOT, "BENCHMARKS.md");
    const begin = "<!-- suite:begin -->";
    const end = "<!-- suite:end -->";
    const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
    const stamp = `${started.toISOString().slice(0, 16).replace("T", " ")} UTC`;
    const runLine = `Run: \`npm run bench -- --size ${size}${only ? ` --only ${only.join(",")}` : ""}\` on ${stamp}; ${machine}; ${outcomes.map((o) => `${o.name} ${o.seconds.toFixed(0)} s`).join(", ")}.`;
    // --only: keep the other benchmarks' rows (and run lines) from the previous full run.
    const previous = current.match(new RegExp(`${begin}([\\s\\S]*?)${end}`))?.[1] ?? "";
    const kept = only ? previous.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| benchmark ") && !only.includes(l.split("|")[1]!.trim())) : [];
    const keptRuns = only ? previous.split("\n").filter((l) => l.startsWith("Run: ")) : [];
    const order = (l: string) => BENCHMARKS.findIndex((b) => b.name === l.split("|")[1]!.trim());
    const rows = [...kept, ...lines.slice(2)].sort((a, b) => order(a) - order(b));
    const section = [
      begin,
      "## Suite (`npm run bench`, bench/run.ts)",
      "",
      ...keptRuns,
      runLine,
      "Ratio = ours / baseline, both measured in the same run. Targets are the issue's (full-size) targets; at `small` size they are a smoke check, not a verdict.",
      "The machine is shared (other engineers' test runs, see the load average): compare ratios rather than absolute numbers.",
      "",
      ...lines.slice(0, 2),
      ...rows,
      end,
    ].join("\n");
    const next = current.includes(begin)
      ? current.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section)
      : current.replace(/^# Benchmarks\n/, `# Benchmarks\n\n${section}\n`);
    writeFileSync(file, next);
    console.log("written to BENCHMARKS.md");
  }
  process.exit(outcomes.some((o) => o.error) ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
