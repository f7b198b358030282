/**
 * The server's transaction signers, one per configured chain, all with the same key (the minter key).
 * One registry per process so every sender on a chain (mints, distributions) shares one nonce manager.
 */
import type { Hex } from "viem";
import { type ChainSigner, createChainSigner, type SentTransaction } from "./signer.js";

export type ServerSigners = {
  /** The signer address (the account that must hold the minter role). */
  address: `0x${string}`;
  chainIds: number[];
  /** Undefined for a chain that is not configured. */
  get(chainId: number): ChainSigner | undefined;
};

export function createServerSigners(options: {
  chains: { chainId: number; rpcUrl: string }[];
  privateKey: Hex;
  gasCap?: bigint;
  pollingInterval?: number;
  onTransaction?: (tx: SentTransaction) => void;
}): ServerSigners {
  const signers = new Map<number, ChainSigner>();
  for (const chain of options.chains) {
    signers.set(
      chain.chainId,
      createChainSigner({
        chainId: chain.chainId,
        rpcUrl: chain.rpcUrl,
        privateKey: options.privateKey,
        gasCap: options.gasCap,
        pollingInterval: options.pollingInterval,
        onTransaction: options.onTransaction,
      }),
    );
  }
  const first = signers.values().next().value as ChainSigner | undefined;
  if (!first) throw new Error("createServerSigners needs at least one chain");
  return { address: first.address, chainIds: [...signers.keys()], get: (chainId) => signers.get(chainId) };
}
