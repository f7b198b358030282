/**
 * What the indexer indexes: chains, LayerZero endpoints and collection deployments. One loader for
 * `ponder.config.ts`, the handlers (chain id → EID, address → collection), the API, reconcile,
 * the dev orchestrator and the tests.
 *
 * - `PONDER_NETWORK=devnet` (default): everything comes from the devnet deployments file
 *   (`DEVNET_DEPLOYMENTS`, default `.devnet/deployments.json`).
 * - `PONDER_NETWORK=mainnet|testnet`: collections come from `INDEXER_COLLECTIONS` (a JSON file,
 *   see docs/indexer.md), RPC URLs from `RPC_URL_<CHAIN>` (e.g. `RPC_URL_BASE_SEPOLIA`), chain ids,
 *   EIDs and EndpointV2 addresses from the table in indexer/networks.ts.
 *
 * Any wrong or missing setting throws one IndexerConfigError naming the setting to fix.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type Address, getAddress } from "viem";
import { z } from "zod";
import { type Deployments, deploymentsSchema } from "../chain/deployments.js";
import { type IndexerEnv, readIndexerEnv, rpcEnvName, wsEnvName } from "../infra/config/indexer.js";
import { KNOWN_NETWORKS } from "./networks.js";
import { CosmicError } from "../infra/errors.js";

export class IndexerConfigError extends CosmicError {
  override name = "IndexerConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("config", "INDEXER_CONFIG_INVALID", message, options);
  }
  /** The network being set up when the setting is in its files or chains (unset: the variables themselves are wrong). */
  network?: IndexerMode;
}

export type IndexerMode = "devnet" | "mainnet" | "testnet";

export type IndexerChain = {
  /** Ponder chain name. */
  name: string;
  chainId: number;
  eid: number;
  rpcUrl: string;
  /** Every RPC URL of the chain when several are configured (comma-separated): Ponder balances and fails over between them. */
  rpcUrls?: string[];
  endpoint: Address;
  startBlock: number;
  pollingInterval: number;
  /**
   * WebSocket URL for new heads (eth_subscribe): Ponder, the bridge tracker and the devnet workers
   * are woken by each block instead of polling; without one (or while it is down) they poll.
   */
  ws?: string;
};

export type IndexerDeployment = {
  slug: string;
  chainId: number;
  chainName: string;
  eid: number;
  /** `onft`: burn/mint ONFT721; `adapter`: lock/unlock adapter over `token`. */
  kind: "onft" | "adapter";
  /** The OApp (ONFT or adapter): emits ONFTSent/ONFTReceived, is the LayerZero sender/receiver. */
  address: Address;
  /** The ERC-721 holding the tokens (the ONFT itself, or the adapted collection). */
  token: Address;
  startBlock: number;
};

export type IndexerCollection = { slug: string; name: string; symbol: string; deployments: IndexerDeployment[] };

export type IndexerSetup = {
  mode: IndexerMode;
  /** devnetId on the devnet (keys the data folder), the network name otherwise. */
  id: string;
  chains: IndexerChain[];
  collections: IndexerCollection[];
  deployments: IndexerDeployment[];
};

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an 0x-prefixed 20-byte address")
  .transform((a) => getAddress(a));
const realCollectionsSchema = z.object({
  collections: z
    .array(
      z.object({
        slug: z.string().regex(/^[a-z0-9-]+$/),
        name: z.string(),
        symbol: z.string(),
        deployments: z
          .array(
            z.object({
              chain: z.string(),
              kind: z.enum(["onft", "adapter"]),
              address,
              token: address.optional(),
              startBlock: z.number().int().nonnegative(),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

export function setupFromDeployments(deployments: Deployments, pollingInterval = 100, options: { ws?: boolean } = {}): IndexerSetup {
  const chains: IndexerChain[] = deployments.chains.map((c) => ({
    name: c.name,
    chainId: c.chainId,
    eid: c.eid,
    rpcUrl: c.rpcUrl,
    endpoint: c.endpoint,
    startBlock: c.startBlock,
    pollingInterval,
    ...(c.wsUrl && options.ws !== false ? { ws: c.wsUrl } : {}),
  }));
  const collections: IndexerCollection[] = deployments.collections.map((col) => ({
    slug: col.slug,
    name: col.name,
    symbol: col.symbol,
    deployments: col.deployments.map((d) => {
      const chain = chains.find((c) => c.chainId === d.chainId);
      if (!chain) throw new IndexerConfigError(`deployments file: collection ${col.slug} is deployed on unknown chain ${d.chainId}`);
      return {
        slug: col.slug,
        chainId: d.chainId,
        chainName: chain.name,
        eid: d.eid,
        kind: d.kind,
        address: d.address,
        token: d.token,
        startBlock: d.startBlock,
      };
    }),
  }));
  return { mode: "devnet", id: deployments.devnetId, chains, collections, deployments: collections.flatMap((c) => c.deployments) };
}

function loadDevnet(env: IndexerEnv): IndexerSetup {
  const file = env.deploymentsFile;
  let raw: string;
  try {
    raw = readFileSync(path.resolve(file), "utf8");
  } catch {
    throw new IndexerConfigError(`no devnet deployments file at ${file}: start the devnet (npm run dev / npm run devnet) or set DEVNET_DEPLOYMENTS`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new IndexerConfigError(`devnet deployments file ${file} is not valid JSON`);
  }
  const parsed = deploymentsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IndexerConfigError(`invalid devnet deployments file ${file}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return setupFromDeployments(parsed.data, env.pollingInterval ?? 100, { ws: env.ws });
}

function loadReal(mode: "mainnet" | "testnet", env: IndexerEnv): IndexerSetup {
  const file = env.collectionsFile;
  if (!file) throw new IndexerConfigError(`PONDER_NETWORK=${mode} needs INDEXER_COLLECTIONS=<path to a collections JSON file> (see docs/indexer.md)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path.resolve(file), "utf8"));
  } catch (error) {
    throw new IndexerConfigError(`cannot read INDEXER_COLLECTIONS file ${file}: ${(error as Error).message}`);
  }
  const parsed = realCollectionsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IndexerConfigError(`invalid INDEXER_COLLECTIONS file ${file}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const interval = env.pollingInterval ?? 1000;
  const chains = new Map<string, IndexerChain>();
  const collections: IndexerCollection[] = parsed.data.collections.map((col) => ({
    slug: col.slug,
    name: col.name,
    symbol: col.symbol,
    deployments: col.deployments.map((d) => {
      const known = KNOWN_NETWORKS.find((n) => n.name === d.chain);
      if (!known) throw new IndexerConfigError(`collection ${col.slug}: unknown chain "${d.chain}"; known: ${KNOWN_NETWORKS.map((n) => n.name).join(", ")}`);
      if (known.testnet !== (mode === "testnet"))
        throw new IndexerConfigError(`collection ${col.slug}: chain ${d.chain} is a ${known.testnet ? "testnet" : "mainnet"} but PONDER_NETWORK=${mode}`);
      if (d.kind === "adapter" && !d.token)
        throw new IndexerConfigError(`collection ${col.slug}: the adapter on ${d.chain} needs "token" (the adapted ERC-721)`);
      const rpcUrls = env.rpcUrls(d.chain);
      if (rpcUrls.length === 0)
        throw new IndexerConfigError(`missing ${rpcEnvName(d.chain)}: the RPC URL of ${d.chain} (collection ${col.slug} is deployed there)`);
      for (const url of rpcUrls)
        if (!/^(https?|wss?):\/\//.test(url)) throw new IndexerConfigError(`${rpcEnvName(d.chain)} must be http(s) or ws(s) URLs, comma-separated`);
      const rpcUrl = rpcUrls[0]!;
      const ws = env.wsUrl(d.chain);
      if (ws && !/^wss?:\/\//.test(ws)) throw new IndexerConfigError(`${wsEnvName(d.chain)} must be a ws:// or wss:// URL`);
      const chain = chains.get(d.chain) ?? {
        name: d.chain,
        chainId: known.chainId,
        eid: known.eid,
        rpcUrl,
        ...(rpcUrls.length > 1 ? { rpcUrls } : {}),
        endpoint: known.endpoint,
        startBlock: d.startBlock,
        pollingInterval: interval,
        ...(ws ? { ws } : {}),
      };
      chain.startBlock = Math.min(chain.startBlock, d.startBlock);
      chains.set(d.chain, chain);
      return {
        slug: col.slug,
        chainId: known.chainId,
        chainName: d.chain,
        eid: known.eid,
        kind: d.kind,
        address: d.address,
        token: d.kind === "adapter" ? d.token! : d.address,
        startBlock: d.startBlock,
      };
    }),
  }));
  return { mode, id: mode, chains: [...chains.values()], collections, deployments: collections.flatMap((c) => c.deployments) };
}

let cached: IndexerSetup | undefined;

export function loadIndexerSetup(env: NodeJS.ProcessEnv = process.env): IndexerSetup {
  if (env === process.env && cached) return cached;
  let settings: IndexerEnv;
  try {
    settings = readIndexerEnv(env);
  } catch (error) {
    throw new IndexerConfigError((error as Error).message, { cause: error });
  }
  let setup: IndexerSetup;
  try {
    setup = settings.network === "devnet" ? loadDevnet(settings) : loadReal(settings.network, settings);
  } catch (error) {
    if (error instanceof IndexerConfigError) error.network = settings.network;
    throw error;
  }
  if (env === process.env) cached = setup;
  return setup;
}

/**
 * Lookups the handlers use (built once per setup). Their deployments keep the checksummed addresses
 * on purpose: Ponder's indexing cache learns which event field a row key comes from by comparing
 * values case-sensitively, and a learnt token key (lowercase, as `event.log.address`) makes every
 * batch after an eviction prefetch its ~4,000 rows in one OR query that Postgres 15 takes seconds to
 * plan: 3.2× slower than the one-row reads of unlearnt keys (1M tokens, 64 MB cache: 570 vs 1,840
 * events/s, BENCHMARKS.md).
 */
export function setupIndex(setup: IndexerSetup) {
  const byChain = new Map(setup.chains.map((c) => [c.chainId, c]));
  const byEid = new Map(setup.chains.map((c) => [c.eid, c]));
  const byOapp = new Map<string, IndexerDeployment>();
  const byToken = new Map<string, IndexerDeployment>();
  for (const d of setup.deployments) {
    byOapp.set(`${d.chainId}:${d.address.toLowerCase()}`, d);
    byToken.set(`${d.chainId}:${d.token.toLowerCase()}`, d);
  }
  return {
    chain: (chainId: number) => byChain.get(chainId),
    chainByEid: (eid: number) => byEid.get(eid),
    /** The deployment whose OApp (ONFT or adapter) is `address` on `chainId`. */
    oapp: (chainId: number, address: string) => byOapp.get(`${chainId}:${address.toLowerCase()}`),
    /** The deployment whose ERC-721 is `address` on `chainId`. */
    token: (chainId: number, address: string) => byToken.get(`${chainId}:${address.toLowerCase()}`),
  };
}
