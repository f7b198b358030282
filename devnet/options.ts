/**
 * Devnet settings: defaults, validation and account roles. Deliberately free of viem/zod imports so
 * the CLI can reject bad input in well under a second, before loading anything heavy.
 */
import { type AnvilProcess, DevnetConfigError } from "./anvil.js";

/** Roles of the default accounts on the devnet. */
export const DEPLOYER_INDEX = 0; // owns every contract, minter; the relayer's key is separate
export const RELAYER_INDEX = 9;

export const DEFAULT_DEPLOYMENTS_FILE = ".devnet/deployments.json";

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
