/**
 * `npm run devnet` as a user runs it (`npx tsx devnet/cli.ts`): bad input exits non-zero with one
 * line on stderr and leaves no anvil; good input starts quickly, prints the summary, writes the
 * deployments file, and stops every chain on SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DevnetConfigError } from "../../devnet/anvil.js";
import { parseCli } from "../../devnet/cli.js";
import { deploymentsSchema } from "../../chain/deployments.js";
import { LAYERZERO_DEFAULTS } from "../../devnet/options.js";
import { freeBasePort } from "../helpers/devnet.js";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "devnet-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Run = { code: number | null; stdout: string; stderr: string; child: ChildProcess };

/**
 * `npx tsx devnet/cli.ts …` as the brief's users type it. With `direct`, `node --import tsx …`
 * instead: one PID, so a signal reaches the CLI itself (npx does not forward SIGTERM to its child).
 */
function cli(args: string[], env: Record<string, string> = {}, direct = false): { child: ChildProcess; done: Promise<Run>; output: () => string } {
  const [command, prefix] = direct ? [process.execPath, ["--import", "tsx"]] : ["npx", ["tsx"]];
  const child = spawn(command, [...prefix, "devnet/cli.ts", ...args], {
    cwd: root,
    env: { ...process.env, DEVNET_FORK_URL: "", DEVNET_PORT: "", DEVNET_DEPLOYMENTS: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const done = new Promise<Run>((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr, child })));
  return { child, done, output: () => stdout };
}

/** Anvil processes listening on one of these ports (matched on anvil's own command line). */
function anvilsOn(ports: number[]): string[] {
  return ports.flatMap((port) => {
    try {
      return execFileSync("pgrep", ["-f", `anvil --port ${port} `], { encoding: "utf8" })
        .trim()
        .split("\n")
        .filter(Boolean);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  });
}

function range(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base + i);
}

async function expectOneLineFailure(run: Promise<Run>, pattern: RegExp, ports: number[]): Promise<void> {
  const { code, stderr } = await run;
  expect(code).not.toBe(0);
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(anvilsOn(ports)).toEqual([]);
}

describe("devnet CLI", () => {
  it("rejects bad input with one line on stderr and leaves no anvil", async () => {
    const base = await freeBasePort(9);
    // A port in use: chain 0 starts on `base`, chain 1's port is taken, so chain 0 must be stopped again.
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(base + 1, "127.0.0.1", () => resolve()));
    try {
      await Promise.all([
        expectOneLineFailure(cli(["--chains", "0", "--port", String(base + 3)]).done, /chains must be an integer from 1 to 16.*--chains/, range(base + 3, 1)),
        expectOneLineFailure(cli(["--chains", "3", "--port", String(base)]).done, new RegExp(`port ${base + 1} is already in use.*--port`), range(base, 3)),
        expectOneLineFailure(
          cli(["--chains", "2", "--port", String(base + 3)], { DEVNET_FORK_URL: "notaurl" }).done,
          /DEVNET_FORK_URL must be an http\(s\) or ws\(s\) RPC URL/,
          range(base + 3, 2),
        ),
        // A well-formed URL nobody answers: anvil itself fails; the other chain, already up, is stopped.
        expectOneLineFailure(
          cli(["--chains", "2", "--port", String(base + 5)], { DEVNET_FORK_URL: "http://127.0.0.1:1/rpc?key=secret" }, true).done,
          /could not fork http:\/\/127\.0\.0\.1:1\/….*DEVNET_FORK_URL/,
          range(base + 5, 2),
        ),
        expectOneLineFailure(cli(["--chain", "2"], {}, true).done, /Unknown option '--chain'.*--help/, []),
      ]);
    } finally {
      blocker.close();
    }
  });

  it("validates every flag before starting anything", () => {
    const fails = (args: string[], env: Record<string, string> = {}) => {
      try {
        parseCli(args, env);
      } catch (error) {
        expect(error).toBeInstanceOf(DevnetConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${args.join(" ")}`);
    };
    expect(fails(["--delay=-5"])).toMatch(/--delay must be a whole number of milliseconds/);
    expect(fails(["--chains", "17"])).toMatch(/chains must be an integer from 1 to 16/);
    expect(fails(["--port", "80"])).toMatch(/set --port between 1024/);
    expect(fails(["--block-time", "0"])).toMatch(/--block-time must be a positive number/);
    expect(fails(["extra"])).toMatch(/Unexpected argument 'extra'/);
    expect(fails([], { DEVNET_FORK_URL: "ftp://x" })).toMatch(/DEVNET_FORK_URL/);
    expect(fails([], { DEVNET_PORT: "x" })).toMatch(/--port must be a port number/);
    expect(fails(["--required-dvns", "3"])).toMatch(/--required-dvns must be a whole number from 1 to 2/);
    expect(fails(["--dvns", "2", "--dvn-quorum", "4"])).toMatch(/--dvn-quorum must be a whole number from 1 to 3/);
    expect(fails(["--confirmations", "0"])).toMatch(/--confirmations must be a whole number from 1/);
    expect(fails(["--chains", "3", "--gas-price-gwei", "1,2"])).toMatch(/one value or one per chain \(3\)/);
    expect(fails(["--gas-price-gwei", "x"])).toMatch(/--gas-price-gwei must be a positive number/);
    const ok = parseCli(
      [
        "--chains=2",
        "--port",
        "9000",
        "--block-time",
        "0.5",
        "--delay",
        "250",
        "--no-workers",
        "--deployments",
        "d.json",
        "--dvns",
        "3",
        "--required-dvns",
        "2",
        "--confirmations",
        "2",
        "--gas-price-gwei",
        "1,0.5",
      ],
      { DEVNET_FORK_URL: "https://rpc.example/v2/KEY" },
    );
    expect(ok).toEqual({
      devnet: {
        chains: 2,
        basePort: 9000,
        blockTime: 0.5,
        forkUrl: "https://rpc.example/v2/KEY",
        deploymentsFile: "d.json",
        layerZero: { ...LAYERZERO_DEFAULTS, dvns: 3, requiredDvns: 2, confirmations: 2, gasPriceGwei: [1, 0.5] },
      },
      workers: false,
      delayMs: 250,
      help: false,
    });
  });

  it("starts in under 30 s, prints the summary, writes the deployments file, stops every chain on SIGTERM", async () => {
    const base = await freeBasePort(2);
    const file = path.join(tmp, "deployments.json");
    const started = Date.now();
    const run = cli(["--chains", "2", "--port", String(base), "--deployments", file, "--delay", "10", "--block-time", "1"], {}, true);
    try {
      while (!run.output().includes("Press Ctrl-C")) {
        if (run.child.exitCode !== null) throw new Error(`devnet exited early: ${(await run.done).stderr}`);
        if (Date.now() - started > 30_000) throw new Error("devnet did not start within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(Date.now() - started).toBeLessThan(30_000);
      const summary = run.output();
      expect(summary).toMatch(/chain\s+chain id\s+EID\s+RPC URL/);
      expect(summary).toContain(`http://127.0.0.1:${base + 1}`);
      expect(summary).toMatch(/PUBLIC anvil test keys/);
      expect(summary).toContain("LayerZero workers: running, DVN delay 10 ms");
      expect(summary).toMatch(/LayerZero pathways: 2 required DVN\(s\), 2-of-3 signers each, 1 confirmation/);
      const deployments = deploymentsSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      expect(deployments.chains.map((c) => c.rpcUrl)).toEqual([`http://127.0.0.1:${base}`, `http://127.0.0.1:${base + 1}`]);
      expect(deployments.collections.map((c) => c.slug)).toEqual(["cosmic", "legacy"]);
      expect(anvilsOn(range(base, 2))).toHaveLength(2);
      // Interval mining is on once deployed: blocks come without transactions.
      const blockNumber = async () => {
        const response = await fetch(`http://127.0.0.1:${base}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
        });
        return BigInt(((await response.json()) as { result: string }).result);
      };
      const before = await blockNumber();
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(await blockNumber()).toBeGreaterThan(before);
    } finally {
      run.child.kill("SIGTERM"); // to the CLI process only: it must stop its anvils itself
    }
    const { code, stdout } = await run.done;
    expect(stdout).toContain("SIGTERM: stopping the LayerZero workers and 2 anvil chains");
    expect(code).toBe(0);
    expect(anvilsOn(range(base, 2))).toEqual([]);
  });
});
