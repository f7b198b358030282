/**
 * Devnet settings: defaults, validation and account roles. Deliberately free of viem/zod imports so
 * the CLI can reject bad input in well under a second, before loading anything heavy.
 */
import { readDevnetEnv } from "../infra/config/devnet.js";
import { type AnvilProcess, DevnetConfigError } from "./anvil.js";

/** Roles of the default accounts on the devnet. */
export const DEPLOYER_INDEX = 0; // owns every contract, minter; the LayerZero workers' keys are separate
/** The LayerZero executor's admin key (devnet account 9, as the old relayer). */
export const EXECUTOR_INDEX = 9;
/** Further worker keys, derived from anvil's mnemonic past its 10 funded accounts (funded at deploy). */
export const COMMITTER_INDEX = 10;
export const DVN_ADMIN_INDEX = 11; // DVN i: 11 + i
/** DVN signer keys (never funded, they only sign): DVN i signer j at 100 + 10·i + j. */
export const DVN_SIGNER_INDEX = 100;

export { DEFAULT_DEPLOYMENTS_FILE } from "../chain/deployments.js";

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
  /**
   * Name, chain id and EID of each chain instead of devnet-a… / baseChainId + i / baseEid + i: e.g. a
   * rehearsal on chains carrying real testnets' ids (as many entries as chains).
   */
  chainSpecs?: { name: string; chainId: number; eid: number }[];
  /** Place EndpointV2 at this address on every chain (a real network's EndpointV2 address). */
  endpointAddress?: `0x${string}`;
  /** Called as soon as each anvil process is up (the CLI tracks them to kill them on any exit). */
  onAnvil?: (anvil: AnvilProcess) => void;
  /** Extra anvil flags for every chain (benchmarks: `--prune-history`, `--gas-limit`, `--dump-state`). */
  anvilArgs?: (chainIndex: number) => string[];
  /** Pathway settings of the LayerZero stack (DVNs, confirmations, prices). */
  layerZero?: Partial<LayerZeroSettings>;
  /** Where to write the deployments file; not written when null. */
  deploymentsFile?: string | null;
  log?: (line: string) => void;
};

const fromConfig = readDevnetEnv({});
/** Chains and first port default to the devnet section's (infra/config/devnet.ts); ids and EIDs are fixed. */
export const DEVNET_DEFAULTS = { chains: fromConfig.chains, basePort: fromConfig.basePort, baseChainId: 31337, baseEid: 50001 } as const;

/**
 * The production LayerZero stack's settings on every pathway of the devnet (written to the
 * deployments file). EIDs stay ≥ 30001: ExecutorFeeLib treats lower ids as LayerZero V1.
 */
export type LayerZeroSettings = {
  /** DVNs deployed per chain (each with its own signer set). */
  dvns: number;
  /** How many of them every pathway requires; the others are optional with threshold 1. */
  requiredDvns: number;
  /** Signers per DVN and the quorum of signatures its `execute` needs. */
  dvnSigners: number;
  dvnQuorum: number;
  /** Source block confirmations a DVN waits for (the block holding the send counts as 1). */
  confirmations: number;
  /** lzReceive gas the collections enforce for a send (OApp enforced options). */
  lzReceiveGas: number;
  /** Gas price of each chain in gwei, as the other chains' PriceFeeds quote it (one value: all chains). */
  gasPriceGwei: number[];
  /** Native token price in USD (the executor's and DVNs' floor margins are in USD). */
  nativePriceUsd: number;
  /** Treasury fee on top of the workers' fees, in basis points (0: no treasury fee). */
  treasuryBps: number;
};

export const LAYERZERO_DEFAULTS: LayerZeroSettings = {
  dvns: 2,
  requiredDvns: 2,
  dvnSigners: 3,
  dvnQuorum: 2,
  confirmations: 1,
  lzReceiveGas: 150_000,
  gasPriceGwei: [1],
  nativePriceUsd: 3_000,
  treasuryBps: 100,
};

export function validateLayerZeroSettings(input: Partial<LayerZeroSettings> | undefined, chains: number): LayerZeroSettings {
  const s = { ...LAYERZERO_DEFAULTS, ...input };
  if (input?.dvns !== undefined && input.requiredDvns === undefined) s.requiredDvns = s.dvns;
  const whole = (v: number, min: number, max: number, flag: string) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new DevnetConfigError(`${flag} must be a whole number from ${min} to ${max} (got ${v})`);
  };
  whole(s.dvns, 1, 8, "--dvns");
  whole(s.requiredDvns, 1, s.dvns, "--required-dvns");
  whole(s.dvnSigners, 1, 8, "--dvn-signers");
  whole(s.dvnQuorum, 1, s.dvnSigners, "--dvn-quorum");
  whole(s.confirmations, 1, 1_000, "--confirmations");
  whole(s.lzReceiveGas, 21_000, 30_000_000, "--lz-receive-gas");
  whole(s.treasuryBps, 0, 10_000, "--treasury-bps");
  if (!(s.nativePriceUsd > 0)) throw new DevnetConfigError(`--native-price-usd must be positive (got ${s.nativePriceUsd})`);
  if (s.gasPriceGwei.length !== 1 && s.gasPriceGwei.length !== chains)
    throw new DevnetConfigError(`--gas-price-gwei takes one value or one per chain (${chains}), got ${s.gasPriceGwei.length}`);
  for (const g of s.gasPriceGwei) if (!(g > 0) || g > 1e6) throw new DevnetConfigError(`--gas-price-gwei values must be positive gwei (got ${g})`);
  return s;
}

export function validateDevnetOptions(options: DevnetOptions): Required<Pick<DevnetOptions, "chains" | "basePort" | "baseChainId" | "baseEid">> {
  const chains = options.chains ?? DEVNET_DEFAULTS.chains;
  const basePort = options.basePort ?? DEVNET_DEFAULTS.basePort;
  const baseChainId = options.baseChainId ?? DEVNET_DEFAULTS.baseChainId;
  const baseEid = options.baseEid ?? DEVNET_DEFAULTS.baseEid;
  if (!Number.isInteger(chains) || chains < 1 || chains > 16)
    throw new DevnetConfigError(`chains must be an integer from 1 to 16 (got ${chains}): set --chains`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + chains - 1 > 65535)
    throw new DevnetConfigError(`ports ${basePort}..${basePort + chains - 1} are out of range: set --port between 1024 and ${65536 - chains}`);
  if (!Number.isInteger(baseChainId) || baseChainId < 1) throw new DevnetConfigError(`chain id must be a positive integer (got ${baseChainId})`);
  if (!Number.isInteger(baseEid) || baseEid < 1 || baseEid + chains > 2 ** 32) throw new DevnetConfigError(`EID must be a positive uint32 (got ${baseEid})`);
  if (options.blockTime !== undefined && !(options.blockTime > 0))
    throw new DevnetConfigError(`block time must be positive seconds (got ${options.blockTime})`);
  if (options.chainSpecs) {
    if (options.chainSpecs.length !== chains) throw new DevnetConfigError(`chainSpecs must list ${chains} chains (got ${options.chainSpecs.length})`);
    for (const c of options.chainSpecs) {
      if (!Number.isInteger(c.chainId) || c.chainId < 1) throw new DevnetConfigError(`chain id must be a positive integer (got ${c.chainId})`);
      // ExecutorFeeLib treats EIDs below 30000 as LayerZero V1 ids.
      if (!Number.isInteger(c.eid) || c.eid < 30_001) throw new DevnetConfigError(`EID must be ≥ 30001 (got ${c.eid})`);
    }
  }
  if (options.endpointAddress !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(options.endpointAddress))
    throw new DevnetConfigError(`endpoint address must be a 20-byte hex address (got ${options.endpointAddress})`);
  if (options.forkUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(options.forkUrl).protocol;
    } catch {}
    if (!["http:", "https:", "ws:", "wss:"].includes(protocol)) throw new DevnetConfigError("DEVNET_FORK_URL must be an http(s) or ws(s) RPC URL");
  }
  return { chains, basePort, baseChainId, baseEid };
}
