/**
 * `npm run devnet [-- flags]`: starts N anvil chains, deploys LayerZero V2's production stack + our
 * collections, wires them, writes the deployments file, prints a summary, runs LayerZero's workers
 * (DVNs, committer, executor), and stops everything it started on Ctrl-C / SIGTERM / exit.
 *
 * Bad input exits non-zero with one line on stderr saying what to change, with no anvil left behind.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
// Only light modules are imported up front: bad input is rejected before viem, zod and the ABIs load.
import { type AnvilProcess, DevnetConfigError, redactUrl } from "./anvil.js";
import type { Deployments } from "../chain/deployments.js";
import { type DevnetEnv, readDevnetEnv } from "../infra/config/devnet.js";
import { readIndexerEnv } from "../infra/config/indexer.js";
import type { LayerZeroWorkers } from "./layerzero/workers.js";
import {
  DEFAULT_DEPLOYMENTS_FILE,
  DEPLOYER_INDEX,
  DEVNET_DEFAULTS,
  type DevnetOptions,
  EXECUTOR_INDEX,
  LAYERZERO_DEFAULTS,
  type LayerZeroSettings,
  validateDevnetOptions,
  validateLayerZeroSettings,
} from "./options.js";
import type { Devnet } from "./start.js";

const d = LAYERZERO_DEFAULTS;
export const USAGE = `usage: npm run devnet -- [flags]
  --chains N            number of anvil chains (1-16, default ${DEVNET_DEFAULTS.chains})
  --port P              RPC port of the first chain; chain i uses P+i (default ${DEVNET_DEFAULTS.basePort}, env DEVNET_PORT)
  --block-time S        seconds between blocks (default: mine on every transaction)
  --deployments FILE    where to write the deployments file (default ${DEFAULT_DEPLOYMENTS_FILE}, env DEVNET_DEPLOYMENTS)
LayerZero pathways (every pair of chains):
  --dvns N              DVNs deployed per chain (default ${d.dvns}); each has its own signers
  --required-dvns K     DVNs every pathway requires (default: all); the others are optional, threshold 1
  --dvn-signers N       signers per DVN (default ${d.dvnSigners}), --dvn-quorum Q signatures per verification (default ${d.dvnQuorum})
  --confirmations N     source block confirmations before a DVN verifies (default ${d.confirmations})
  --lz-receive-gas G    lzReceive gas the collections enforce for a send (default ${d.lzReceiveGas})
  --gas-price-gwei G    each chain's gas price as the PriceFeeds quote it: one value or one per chain, comma-separated (default ${d.gasPriceGwei.join(",")})
  --native-price-usd P  native token price in USD (default ${d.nativePriceUsd})
  --treasury-bps B      treasury fee in basis points on top of the workers' fees (default ${d.treasuryBps})
LayerZero workers (DVN verifiers, committer, executor):
  --delay MS            DVNs wait this long after a PacketSent before verifying (default 0)
  --no-workers          do not run them (packets stay in flight; run your own)
  env DEVNET_FORK_URL   fork a real chain (http(s)/ws(s) RPC URL) as the first devnet chain`;

export type CliSettings = {
  devnet: DevnetOptions & { deploymentsFile: string; layerZero: LayerZeroSettings };
  workers: boolean;
  delayMs: number;
  help: boolean;
};

function integer(value: string, flag: string, what: string): number {
  if (!/^\d+$/.test(value.trim())) throw new DevnetConfigError(`${flag} must be ${what} (got "${value}")`);
  return Number(value);
}

/** Parses and validates argv/env without starting anything. Throws DevnetConfigError with a one-line fix. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        chains: { type: "string" },
        port: { type: "string" },
        "block-time": { type: "string" },
        delay: { type: "string" },
        "no-workers": { type: "boolean" },
        dvns: { type: "string" },
        "required-dvns": { type: "string" },
        "dvn-signers": { type: "string" },
        "dvn-quorum": { type: "string" },
        confirmations: { type: "string" },
        "lz-receive-gas": { type: "string" },
        "gas-price-gwei": { type: "string" },
        "native-price-usd": { type: "string" },
        "treasury-bps": { type: "string" },
        deployments: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    const message = (error as Error).message
      .split("\n")[0]!
      .replace(/\. To specify a positional argument.*$/, "")
      .replace(/\.$/, "");
    throw new DevnetConfigError(`${message}: see --help for the flags`);
  }
  const chains = values.chains !== undefined ? integer(values.chains as string, "--chains", "a whole number from 1 to 16") : undefined;
  // DEVNET_* (infra/config/devnet.ts) are the flags' defaults: a wrong one is reported as its flag.
  let fromEnv: DevnetEnv;
  try {
    fromEnv = readDevnetEnv(env);
  } catch (error) {
    const message = (error as Error).message;
    throw new DevnetConfigError(/^DEVNET_PORT:/m.test(message) ? `--port must be a port number (${message.split("\n")[0]})` : message);
  }
  const basePort = values.port !== undefined ? integer(values.port as string, "--port", "a port number") : fromEnv.basePort;
  let blockTime: number | undefined;
  if (values["block-time"] !== undefined) {
    blockTime = Number(values["block-time"]);
    if (!Number.isFinite(blockTime) || blockTime <= 0)
      throw new DevnetConfigError(`--block-time must be a positive number of seconds (got "${values["block-time"]}")`);
  }
  const delayMs = values.delay !== undefined ? integer(values.delay as string, "--delay", "a whole number of milliseconds") : 0;
  const forkUrl = fromEnv.forkUrl;
  const deploymentsFile = (values.deployments as string | undefined) ?? readIndexerEnv(env).deploymentsFile;
  const whole = (flag: string) => (values[flag] !== undefined ? integer(values[flag] as string, `--${flag}`, "a whole number") : undefined);
  const positive = (flag: string, raw: string) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new DevnetConfigError(`--${flag} must be a positive number (got "${raw}")`);
    return n;
  };
  const layerZeroInput: Partial<LayerZeroSettings> = {
    dvns: whole("dvns"),
    requiredDvns: whole("required-dvns"),
    dvnSigners: whole("dvn-signers"),
    dvnQuorum: whole("dvn-quorum"),
    confirmations: whole("confirmations"),
    lzReceiveGas: whole("lz-receive-gas"),
    treasuryBps: whole("treasury-bps"),
    gasPriceGwei:
      values["gas-price-gwei"] !== undefined
        ? String(values["gas-price-gwei"])
            .split(",")
            .map((g) => positive("gas-price-gwei", g.trim()))
        : undefined,
    nativePriceUsd: values["native-price-usd"] !== undefined ? positive("native-price-usd", String(values["native-price-usd"])) : undefined,
  };
  for (const key of Object.keys(layerZeroInput) as (keyof LayerZeroSettings)[]) if (layerZeroInput[key] === undefined) delete layerZeroInput[key];
  const { chains: chainCount } = validateDevnetOptions({ chains, basePort, blockTime, forkUrl });
  const devnet = { chains, basePort, blockTime, forkUrl, deploymentsFile, layerZero: validateLayerZeroSettings(layerZeroInput, chainCount) };
  return { devnet, workers: values["no-workers"] !== true, delayMs, help: values.help === true };
}

/** The summary printed once the devnet is up. */
export function formatSummary(deployments: Deployments, settings: { deploymentsFile: string; workers: boolean; delayMs: number; forkUrl?: string }): string {
  const table = (headers: string[], rows: string[][]): string[] => {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd();
    return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  };
  const out: string[] = ["", "Cosmic Loop devnet is up", ""];
  out.push(
    ...table(
      ["chain", "chain id", "EID", "RPC URL", "EndpointV2", "SendUln302", "ReceiveUln302", "Executor", "start block"],
      deployments.chains.map((c) => [
        c.name,
        String(c.chainId),
        String(c.eid),
        c.rpcUrl,
        c.endpoint,
        c.layerZero.sendUln302,
        c.layerZero.receiveUln302,
        c.layerZero.executor.address,
        String(c.startBlock),
      ]),
    ),
  );
  const s = deployments.layerZeroSettings;
  out.push(
    "",
    `LayerZero pathways: ${s.requiredDvns} required DVN(s)${s.dvns > s.requiredDvns ? ` + ${s.dvns - s.requiredDvns} optional (threshold 1)` : ""}, ${s.dvnQuorum}-of-${s.dvnSigners} signers each, ${s.confirmations} confirmation(s), enforced lzReceive gas ${s.lzReceiveGas}, treasury ${s.treasuryBps} bp`,
  );
  out.push("");
  for (const collection of deployments.collections) {
    out.push(`${collection.name} (${collection.slug}, ${collection.symbol})`);
    out.push(
      ...table(
        ["chain", "kind", "ONFT / adapter", "ERC-721 token", "token ids minted here"],
        collection.deployments.map((d) => {
          const chain = deployments.chains.find((c) => c.chainId === d.chainId);
          const range =
            d.kind === "onft" && collection.slug !== "legacy"
              ? `(${d.eid} << 64) | n`
              : d.kind === "adapter"
                ? "any (existing collection)"
                : "none (bridged in only)";
          return [chain?.name ?? String(d.chainId), d.kind, d.address, d.token, range];
        }),
      ).map((l) => `  ${l}`),
    );
    out.push("");
  }
  out.push("Funded test accounts (10000 ETH each on every chain). PUBLIC anvil test keys: never use them on a real network.");
  out.push(
    ...table(
      ["#", "address", "private key", "role"],
      deployments.accounts.map((a, i) => [
        String(i),
        a.address,
        a.privateKey,
        i === DEPLOYER_INDEX ? "deployer, owner, minter" : i === EXECUTOR_INDEX ? "LayerZero executor admin" : "user",
      ]),
    ),
  );
  out.push("");
  out.push(`deployments file: ${settings.deploymentsFile}`);
  if (settings.forkUrl) out.push(`${deployments.chains[0]?.name} forks ${redactUrl(settings.forkUrl)}`);
  out.push(
    settings.workers
      ? `LayerZero workers: running${settings.delayMs ? `, DVN delay ${settings.delayMs} ms` : ""}`
      : "LayerZero workers: not running (--no-workers)",
  );
  out.push("Press Ctrl-C to stop every chain.");
  return out.join("\n");
}

export type RunningDevnet = { devnet: Devnet; workers?: LayerZeroWorkers; stop(): Promise<void> };

/** Starts what the CLI starts, for tests and scripts: devnet + optional LayerZero workers. */
export async function runDevnet(settings: CliSettings, log: (line: string) => void = () => {}, onAnvil?: DevnetOptions["onAnvil"]): Promise<RunningDevnet> {
  const [{ startDevnet }, { startLayerZeroWorkers }] = await Promise.all([import("./start.js"), import("./layerzero/workers.js")]);
  const devnet = await startDevnet({ ...settings.devnet, log, onAnvil });
  let workers: LayerZeroWorkers | undefined;
  try {
    if (settings.workers) workers = await startLayerZeroWorkers({ deployments: devnet.deployments, delayMs: settings.delayMs, log });
  } catch (error) {
    await devnet.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    devnet,
    workers,
    stop() {
      stopping ??= (async () => {
        await workers?.stop();
        await devnet.stop();
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let settings: CliSettings;
  try {
    settings = parseCli(process.argv.slice(2));
  } catch (error) {
    fail(error);
  }
  if (settings.help) {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  const log = (line: string) => console.log(line);
  let running: RunningDevnet | undefined;
  let exiting = false;
  // Last resort: whatever happens (even a signal during startup), the anvil children die with this process.
  const children: AnvilProcess[] = [];
  process.on("exit", () => {
    for (const anvil of children) if (anvil.process.exitCode === null && anvil.process.signalCode === null) anvil.process.kill("SIGKILL");
  });
  const shutdown = async (signal: string) => {
    if (exiting) {
      process.exit(130);
    }
    exiting = true;
    console.log(`\n${signal}: stopping the LayerZero workers and ${children.length} anvil chains`);
    await running?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGHUP", () => void shutdown("SIGHUP"));

  try {
    running = await runDevnet(settings, log, (anvil) => children.push(anvil));
  } catch (error) {
    fail(error);
  }
  if (exiting) return;
  console.log(
    formatSummary(running.devnet.deployments, {
      deploymentsFile: path.relative(process.cwd(), path.resolve(settings.devnet.deploymentsFile)) || settings.devnet.deploymentsFile,
      workers: settings.workers,
      delayMs: settings.delayMs,
      forkUrl: settings.devnet.forkUrl,
    }),
  );
  console.log(`started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** One line on stderr, non-zero exit. startDevnet has already stopped any anvil it started. */
function fail(error: unknown): never {
  if (error instanceof DevnetConfigError) {
    process.stderr.write(`devnet: ${error.message}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  process.stderr.write(`devnet: failed to start: ${message}\n`);
  process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
