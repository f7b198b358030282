/** Programmatic devnet: N anvil chains with LayerZero V2 and our collections deployed and wired. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { devnetAccounts, DEPLOYER_INDEX } from "./accounts.js";
import { type AnvilProcess, DevnetConfigError, startAnvil } from "./anvil.js";
import { deployDevnet } from "./deploy.js";
import { type Deployments, deploymentsSchema } from "./deployments.js";

export type DevnetOptions = {
  /** Number of chains (1-16). Default 3. */
  chains?: number;
  /** RPC port of the first chain; chain i listens on basePort + i. Default 8545. */
  basePort?: number;
  /** Chain id of the first chain; chain i has baseChainId + i. Default 31337. */
  baseChainId?: number;
  /** LayerZero EID of the first chain; chain i has baseEid + i. Default 50001. */
  baseEid?: number;
  /** Seconds between blocks; automine when undefined. */
  blockTime?: number;
  /** Fork a real chain for the first devnet chain (`anvil --fork-url`). */
  forkUrl?: string;
  /** Called as soon as each anvil process is up (the CLI tracks them to kill them on any exit). */
  onAnvil?: (anvil: AnvilProcess) => void;
  /** Where to write the deployments file; not written when null. */
  deploymentsFile?: string | null;
  log?: (line: string) => void;
};

export type Devnet = {
  deployments: Deployments;
  anvils: AnvilProcess[];
  stop(): Promise<void>;
};

export const DEVNET_DEFAULTS = { chains: 3, basePort: 8545, baseChainId: 31337, baseEid: 50001 } as const;

export function validateDevnetOptions(options: DevnetOptions): Required<Pick<DevnetOptions, "chains" | "basePort" | "baseChainId" | "baseEid">> {
  const chains = options.chains ?? DEVNET_DEFAULTS.chains;
  const basePort = options.basePort ?? DEVNET_DEFAULTS.basePort;
  const baseChainId = options.baseChainId ?? DEVNET_DEFAULTS.baseChainId;
  const baseEid = options.baseEid ?? DEVNET_DEFAULTS.baseEid;
  if (!Number.isInteger(chains) || chains < 1 || chains > 16) throw new DevnetConfigError(`chains must be an integer from 1 to 16 (got ${chains}): set --chains`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + chains - 1 > 65535)
    throw new DevnetConfigError(`ports ${basePort}..${basePort + chains - 1} are out of range: set --port between 1024 and ${65536 - chains}`);
  if (!Number.isInteger(baseChainId) || baseChainId < 1) throw new DevnetConfigError(`chain id must be a positive integer (got ${baseChainId})`);
  if (!Number.isInteger(baseEid) || baseEid < 1 || baseEid + chains > 2 ** 32) throw new DevnetConfigError(`EID must be a positive uint32 (got ${baseEid})`);
  if (options.blockTime !== undefined && !(options.blockTime > 0)) throw new DevnetConfigError(`block time must be positive seconds (got ${options.blockTime})`);
  if (options.forkUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(options.forkUrl).protocol;
    } catch {}
    if (!["http:", "https:", "ws:", "wss:"].includes(protocol)) throw new DevnetConfigError("DEVNET_FORK_URL must be an http(s) or ws(s) RPC URL");
  }
  return { chains, basePort, baseChainId, baseEid };
}

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const { chains, basePort, baseChainId, baseEid } = validateDevnetOptions(options);
  const log = options.log ?? (() => {});
  const anvils: AnvilProcess[] = [];
  const stop = async () => {
    await Promise.all(anvils.map((anvil) => anvil.stop()));
  };
  try {
    log(`starting ${chains} anvil chains`);
    const specs = Array.from({ length: chains }, (_, i) => ({
      name: `devnet-${String.fromCharCode(97 + i)}`,
      chainId: baseChainId + i,
      eid: baseEid + i,
      port: basePort + i,
    }));
    // Start in parallel, but wait for every start to settle before failing, so `stop` reaches each
    // anvil that did start (a plain Promise.all would reject while others are still coming up).
    const started = await Promise.allSettled(
      specs.map(async (spec, i) => {
        const anvil = await startAnvil({
          port: spec.port,
          chainId: spec.chainId,
          blockTime: options.blockTime,
          forkUrl: i === 0 ? options.forkUrl : undefined,
        });
        anvils.push(anvil);
        options.onAnvil?.(anvil);
      }),
    );
    const failure = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failure) throw failure.reason;
    log("deploying LayerZero EndpointV2 + SimpleMessageLib and collections");
    const accounts = devnetAccounts();
    const deployments = deploymentsSchema.parse(await deployDevnet({
      chains: specs.map((spec) => ({ name: spec.name, chainId: spec.chainId, eid: spec.eid, rpcUrl: `http://127.0.0.1:${spec.port}` })),
      accounts,
      deployer: accounts[DEPLOYER_INDEX]!,
      log,
    }));
    if (options.deploymentsFile !== null) {
      const file = path.resolve(options.deploymentsFile ?? ".devnet/deployments.json");
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(deployments, null, 2)}\n`);
      log(`deployments written to ${path.relative(process.cwd(), file)}`);
    }
    return { deployments, anvils, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
