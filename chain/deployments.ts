/**
 * The deployments file: what the devnet deployed where. `ponder.config.ts`, the relayer, the API and
 * the tests read it; its schema is validated so a stale or hand-edited file fails with a clear message.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { getAddress } from "viem";
import { z } from "zod";
import { DEFAULT_DEPLOYMENTS_FILE } from "../infra/config/indexer.js";
import { CosmicError } from "../infra/errors.js";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an 0x-prefixed 20-byte address")
  .transform((a) => getAddress(a));

/** One DVN operator's contract on a chain (the same operator, vid and signers verify every pathway). */
export const dvnDeploymentSchema = z.object({
  name: z.string(),
  /** The DVN's verifier id (local EID % 30000): part of what its signers sign. */
  vid: z.number().int().nonnegative(),
  address,
  feeLib: address,
  /** Holds ADMIN_ROLE: sends `execute` with the signers' signatures. */
  admin: address,
  signers: z.array(address).min(1),
  quorum: z.number().int().positive(),
});

/** LayerZero's production message stack on a chain (prebuilt artifacts of LayerZero's npm packages). */
export const layerZeroDeploymentSchema = z.object({
  sendUln302: address,
  receiveUln302: address,
  receiveUln302View: address,
  lzExecutor: address,
  priceFeed: address,
  treasury: address,
  executor: z.object({ address, feeLib: address, admin: address }),
  dvns: z.array(dvnDeploymentSchema).min(1),
  /** Anyone may commit a verification; the devnet's committer sends from this key. */
  committer: address,
});

export const chainDeploymentSchema = z.object({
  name: z.string(),
  chainId: z.number().int().positive(),
  eid: z.number().int().positive(),
  rpcUrl: z.string().url(),
  /** The node's WebSocket URL (anvil serves it on its HTTP port): new heads are pushed, not polled. */
  wsUrl: z
    .string()
    .regex(/^wss?:\/\//, "a ws:// or wss:// URL")
    .optional(),
  endpoint: address,
  layerZero: layerZeroDeploymentSchema,
  /** Block of the endpoint deployment: indexing starts here. */
  startBlock: z.number().int().nonnegative(),
});

export const collectionDeploymentSchema = z.object({
  chainId: z.number().int().positive(),
  eid: z.number().int().positive(),
  /** `onft`: CosmicONFT721 (burn/mint); `adapter`: CosmicONFT721Adapter over `token` (lock/unlock). */
  kind: z.enum(["onft", "adapter"]),
  address,
  /** The ERC-721 holding the tokens: the ONFT itself, or the adapted collection. */
  token: address,
  startBlock: z.number().int().nonnegative(),
});

export const collectionSchema = z.object({
  slug: z.string().regex(/^[a-z0-9-]+$/),
  name: z.string(),
  symbol: z.string(),
  deployments: z.array(collectionDeploymentSchema).min(1),
});

export const layerZeroSettingsSchema = z.object({
  dvns: z.number().int().positive(),
  requiredDvns: z.number().int().positive(),
  dvnSigners: z.number().int().positive(),
  dvnQuorum: z.number().int().positive(),
  confirmations: z.number().int().positive(),
  lzReceiveGas: z.number().int().positive(),
  gasPriceGwei: z.array(z.number().positive()),
  nativePriceUsd: z.number().positive(),
  treasuryBps: z.number().int().nonnegative(),
});

export const deploymentsSchema = z.object({
  network: z.literal("devnet"),
  createdAt: z.string(),
  /** Changes with every new devnet: Ponder's data folder is keyed by it (see the "cache trap"). */
  devnetId: z.string(),
  chains: z.array(chainDeploymentSchema).min(1),
  /** Pathway settings every chain pair was wired with. */
  layerZeroSettings: layerZeroSettingsSchema,
  collections: z.array(collectionSchema),
  accounts: z.array(z.object({ address, privateKey: z.string().regex(/^0x[0-9a-f]{64}$/) })),
});

export type ChainDeployment = z.infer<typeof chainDeploymentSchema>;
export type LayerZeroDeployment = z.infer<typeof layerZeroDeploymentSchema>;
export type DvnDeployment = z.infer<typeof dvnDeploymentSchema>;
export type CollectionDeployment = z.infer<typeof collectionDeploymentSchema>;
export type Collection = z.infer<typeof collectionSchema>;
export type Deployments = z.infer<typeof deploymentsSchema>;

export { DEFAULT_DEPLOYMENTS_FILE };

export class DeploymentsFileError extends CosmicError {
  override name = "DeploymentsFileError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("config", "DEPLOYMENTS_FILE_INVALID", message, options);
  }
}

/** `file`: DEVNET_DEPLOYMENTS as read by infra/config/indexer.ts (`deploymentsFile`). */
export function readDeployments(file: string = DEFAULT_DEPLOYMENTS_FILE): Deployments {
  let raw: string;
  try {
    raw = readFileSync(path.resolve(file), "utf8");
  } catch (cause) {
    throw new DeploymentsFileError(`no devnet deployments at ${file}: start the devnet first (npm run devnet)`, { cause });
  }
  const parsed = deploymentsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentsFileError(`invalid deployments file ${file}: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}
