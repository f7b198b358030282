/**
 * Generates an on-chain history for indexer tests and the benchmark: batch mints on every chain,
 * transfers between holders, bridges (ONFT and adapter) delivered by the devnet's LayerZero workers, optionally
 * failed deliveries. Deterministic in content (token ids, holders, routes); not in block timing.
 */
import type { Address, Hex } from "viem";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { LegacyERC721Abi } from "../../abis/LegacyERC721Abi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { DEPLOYER_INDEX, devnetAccounts } from "../../devnet/accounts.js";
import type { ChainDeployment, Deployments } from "../../chain/deployments.js";
import { startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";

export type HistoryOptions = {
  /** Cosmic tokens minted per chain (mintBatch). */
  mintsPerChain: number;
  batchSize?: number;
  /** Transfers per chain (holder → next holder). */
  transfersPerChain: number;
  /** Cosmic bridges per chain (to the next chain), plus one adapter round trip when > 0. */
  bridgesPerChain: number;
  /** Of the bridges, how many the executor fails (LzReceiveAlert). */
  failedBridges?: number;
  /** Parallel transactions per chain for transfers/bridges. */
  concurrency?: number;
  /**
   * Gas per mintBatch transaction, sent without estimation (large histories: estimating runs every
   * batch twice). Needs a block gas limit above it (anvil_setBlockGasLimit). Default: estimated.
   */
  mintGas?: bigint;
  /**
   * Empty blocks mined at the end, so the whole history is older than Ponder's 30-block finality on
   * anvil and is indexed by the (fast, batched) backfill rather than block by block. Default 35.
   */
  settleBlocks?: number;
  /**
   * Distinct synthetic owners the mints go to (the same addresses on every chain), except the tokens
   * the transfers and bridges use (the first `transfersPerChain` and the last `bridgesPerChain`),
   * which go to the four funded holders. Default: every mint goes to the holders.
   */
  owners?: number;
  log?: (line: string) => void;
};

/** The n-th synthetic owner of `HistoryOptions.owners` (no key: it only ever receives tokens). */
export function syntheticOwner(n: number): Address {
  return `0x${(0xc05e0000n * 2n ** 128n + BigInt(n)).toString(16).padStart(40, "0")}` as Address;
}

/** Mines `blocks` empty blocks on every chain (anvil_mine). */
export async function mineEmpty(deployments: Deployments, blocks: number): Promise<void> {
  await Promise.all(
    deployments.chains.map((c) =>
      fetch(c.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: [`0x${blocks.toString(16)}`] }),
      }),
    ),
  );
}

const accounts = devnetAccounts();
const holders = [accounts[1]!, accounts[2]!, accounts[3]!, accounts[4]!];

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function generateHistory(
  deployments: Deployments,
  options: HistoryOptions,
): Promise<{ mints: number; transfers: number; bridges: number; failed: number }> {
  const log = options.log ?? (() => {});
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 8;
  const deployer = accounts[DEPLOYER_INDEX]!;
  // Fresh signers (and nonce managers) for this history: safe after reorgs and restarts.
  const signer = (chain: ChainDeployment, key: Hex) =>
    createChainSigner({
      chainId: chain.chainId,
      rpcUrl: chain.rpcUrl,
      privateKey: key,
      pollingInterval: 50,
      ...(options.mintGas ? { gasCap: options.mintGas } : {}),
    });
  const cosmic = (chainId: number) => deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chainId)!;
  let failedSoFar = 0;
  const failedBridges = options.failedBridges ?? 0;
  const workers = await startLayerZeroWorkers({
    deployments,
    pollingIntervalMs: 50,
    shouldFail: () => (failedSoFar < failedBridges ? (failedSoFar++, true) : false),
  });
  const holderSigners = new Map<string, ReturnType<typeof signer>>();
  const holderSigner = (chain: ChainDeployment, i: number) => {
    const key = `${chain.chainId}:${i}`;
    if (!holderSigners.has(key)) holderSigners.set(key, signer(chain, holders[i % holders.length]!.privateKey));
    return holderSigners.get(key)!;
  };
  try {
    // 1. Mints. With synthetic owners (large histories), only the holders' tokens first: the bulk is
    // minted after the transfers and bridges, which would each take seconds on anvil once a chain
    // holds hundreds of thousands of tokens.
    const reserved = (k: number) => !options.owners || k < options.transfersPerChain || k >= options.mintsPerChain - options.bridgesPerChain;
    const mintIndices = (which: (k: number) => boolean) =>
      Promise.all(
        deployments.chains.map(async (chain) => {
          const s = signer(chain, deployer.privateKey);
          const dep = cosmic(chain.chainId);
          const ks = Array.from({ length: options.mintsPerChain }, (_, k) => k).filter(which);
          for (let start = 0; start < ks.length; start += batchSize) {
            const batch = ks.slice(start, start + batchSize);
            const ids = batch.map((k) => tokenIdInRange(chain.eid, BigInt(k + 1)));
            const to = batch.map((k) => (reserved(k) ? holders[k % holders.length]!.address : syntheticOwner(k % options.owners!)));
            await s.write({
              address: dep.address,
              abi: CosmicONFT721Abi,
              functionName: "mintBatch",
              args: [to, ids],
              ...(options.mintGas ? { gas: options.mintGas } : {}),
            });
            if (ks.length >= 100_000 && (start / batchSize) % 25 === 0) log(`chain ${chain.chainId}: minted ${start + batch.length} of ${ks.length}`);
          }
        }),
      );
    await mintIndices(reserved);
    if (!options.owners) log(`minted ${options.mintsPerChain} per chain`);
    // 2. Transfers: token k (owned by holder k%4) → holder (k+1)%4.
    await Promise.all(
      deployments.chains.map(async (chain) => {
        const dep = cosmic(chain.chainId);
        const ks = Array.from({ length: Math.min(options.transfersPerChain, options.mintsPerChain) }, (_, k) => k);
        await inBatches(ks, concurrency, async (k) => {
          const from = holders[k % holders.length]!;
          const to = holders[(k + 1) % holders.length]!;
          await holderSigner(chain, k % holders.length).write({
            address: dep.address,
            abi: CosmicONFT721Abi,
            functionName: "transferFrom",
            args: [from.address, to.address, tokenIdInRange(chain.eid, BigInt(k + 1))],
          });
        });
      }),
    );
    log(`transferred ${options.transfersPerChain} per chain`);
    // 3. Bridges: tokens from the end of each chain's range, to the next chain.
    await Promise.all(
      deployments.chains.map(async (chain, ci) => {
        const next = deployments.chains[(ci + 1) % deployments.chains.length]!;
        if (next.chainId === chain.chainId) return;
        const dep = cosmic(chain.chainId);
        const ks = Array.from(
          { length: Math.min(options.bridgesPerChain, options.mintsPerChain - options.transfersPerChain) },
          (_, j) => options.mintsPerChain - 1 - j,
        );
        await inBatches(ks, Math.min(concurrency, 4), async (k) => {
          const holder = k % holders.length;
          await sendToken({
            signer: holderSigner(chain, holder),
            deployment: dep,
            tokenId: tokenIdInRange(chain.eid, BigInt(k + 1)),
            dstEid: next.eid,
            to: holders[(holder + 2) % holders.length]!.address,
          });
        });
      }),
    );
    // One adapter round trip (legacy collection: lock on chain 0, unlock on return).
    if (options.bridgesPerChain > 0 && deployments.chains.length > 1) {
      const [a, b] = [deployments.chains[0]!, deployments.chains[1]!];
      const legacy = deployments.collections.find((c) => c.slug === "legacy")!;
      const legacyA = legacy.deployments.find((d) => d.chainId === a.chainId)!;
      const legacyB = legacy.deployments.find((d) => d.chainId === b.chainId)!;
      await signer(a, deployer.privateKey).write({ address: legacyA.token, abi: LegacyERC721Abi, functionName: "mint", args: [holders[0]!.address, 42n] });
      await workers.idle();
      failedSoFar = failedBridges; // the round trip must succeed
      await sendToken({ signer: holderSigner(a, 0), deployment: legacyA, tokenId: 42n, dstEid: b.eid, to: holders[1]!.address });
      await workers.idle();
      await sendToken({ signer: holderSigner(b, 1), deployment: legacyB, tokenId: 42n, dstEid: a.eid, to: holders[0]!.address });
    }
    await workers.idle();
    if (options.owners) {
      await mintIndices((k) => !reserved(k));
      log(`minted ${options.mintsPerChain} per chain`);
    }
    if ((options.settleBlocks ?? 35) > 0) await mineEmpty(deployments, options.settleBlocks ?? 35);
    log(`bridged ${options.bridgesPerChain} per chain (${workers.failed} failed)`);
    return {
      mints: options.mintsPerChain * deployments.chains.length,
      transfers: options.transfersPerChain * deployments.chains.length,
      bridges: workers.delivered + workers.failed,
      failed: workers.failed,
    };
  } finally {
    await workers.stop();
  }
}
