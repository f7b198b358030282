/** Starts and stops anvil processes (the binary shipped by the `@foundry-rs/anvil` npm package). */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { CosmicError } from "../infra/errors.js";

const require = createRequire(import.meta.url);

export class DevnetConfigError extends CosmicError {
  override name = "DevnetConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("config", "DEVNET_CONFIG_INVALID", message, options);
  }
}

/** Path of the platform binary; spawning it directly keeps one PID per chain (no npx/node wrapper). */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}/package.json`;
  try {
    return path.join(path.dirname(require.resolve(pkg)), "bin", "anvil");
  } catch (cause) {
    throw new DevnetConfigError(`anvil binary for ${process.platform}-${arch} not installed: run npm ci`, { cause });
  }
}

export async function assertPortFree(port: number, host = "127.0.0.1"): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new DevnetConfigError(
          error.code === "EADDRINUSE"
            ? `port ${port} is already in use: choose another base port (--port / DEVNET_PORT)`
            : `cannot listen on port ${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A free TCP port chosen by the OS (tests use fresh ports). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type AnvilOptions = {
  port: number;
  chainId: number;
  /** Seconds between blocks; automine when undefined. */
  blockTime?: number;
  forkUrl?: string;
  forkBlockNumber?: bigint;
  /** Deterministic block timestamps help "same history twice" comparisons. */
  timestamp?: number;
  /** Extra command-line flags (e.g. `--load-state FILE`, `--dump-state FILE`, `--prune-history`). */
  extraArgs?: string[];
};

export type AnvilProcess = { rpcUrl: string; port: number; chainId: number; process: ChildProcess; stop(): Promise<void> };

export async function startAnvil(options: AnvilOptions): Promise<AnvilProcess> {
  await assertPortFree(options.port);
  const args = ["--port", String(options.port), "--host", "127.0.0.1", "--chain-id", String(options.chainId), "--silent"];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  if (options.forkUrl) args.push("--fork-url", options.forkUrl);
  if (options.forkBlockNumber !== undefined) args.push("--fork-block-number", String(options.forkBlockNumber));
  if (options.timestamp !== undefined) args.push("--timestamp", String(options.timestamp));
  if (options.extraArgs) args.push(...options.extraArgs);

  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr?.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  const rpcUrl = `http://127.0.0.1:${options.port}`;

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    // Dumping a large state on exit (--dump-state) takes a while.
    const timer = setTimeout(() => child.kill("SIGKILL"), options.extraArgs?.includes("--dump-state") ? 300_000 : 3000);
    await exited;
    clearTimeout(timer);
  };

  // Ready when eth_chainId answers; fail fast if the process exits (bad fork URL, bad flags).
  // Loading a large saved state (--load-state) takes a while.
  const deadline = Date.now() + (options.forkUrl || options.extraArgs?.includes("--load-state") ? 300_000 : 15_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const reason = output.trim().split("\n").filter(Boolean).pop() ?? `exit code ${child.exitCode}`;
      throw new DevnetConfigError(
        options.forkUrl
          ? `anvil could not fork ${redactUrl(options.forkUrl)}: ${reason} (check DEVNET_FORK_URL)`
          : `anvil failed to start on port ${options.port}: ${reason}`,
      );
    }
    try {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return { rpcUrl, port: options.port, chainId: options.chainId, process: child, stop };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new DevnetConfigError(`anvil on port ${options.port} did not answer within the start timeout`);
}

/** Hides credentials and API keys that RPC URLs often carry. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "<invalid URL>";
  }
}

/** One JSON-RPC call to a devnet node (anvil_* / evm_* methods viem's clients do not type). */
export async function anvilRpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method} failed on ${url}: ${body.error.message}`);
  return body.result;
}
