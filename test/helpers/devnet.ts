/** Test helpers: a devnet on fresh ports, signers for its accounts, mint and read helpers. */
import type { Address, Hex } from "viem";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { type ChainSigner, createChainSigner } from "../../chain/signer.js";
import { DEPLOYER_INDEX, devnetAccounts } from "../../devnet/accounts.js";
import { assertPortFree } from "../../devnet/anvil.js";
import type { ChainDeployment, CollectionDeployment, Deployments } from "../../chain/deployments.js";
import { type Devnet, type DevnetOptions, startDevnet } from "../../devnet/start.js";

export const accounts = devnetAccounts();
export const deployer = accounts[DEPLOYER_INDEX]!;

/** A base port with `count` consecutive free ports, picked at random in a high range. */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      for (let i = 0; i < count; i++) await assertPortFree(base + i);
      return base;
    } catch {}
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Starts a devnet on fresh ports without writing a deployments file. Stop it in afterAll. */
export async function startTestDevnet(options: Omit<DevnetOptions, "basePort"> = {}): Promise<Devnet> {
  const chains = options.chains ?? 3;
  return await startDevnet({ deploymentsFile: null, ...options, chains, basePort: await freeBasePort(chains) });
}

export function chainAt(deployments: Deployments, index: number): ChainDeployment {
  const chain = deployments.chains[index];
  if (!chain) throw new Error(`devnet has no chain ${index}`);
  return chain;
}

export function collectionOn(deployments: Deployments, slug: string, chainId: number): CollectionDeployment {
  const deployment = deployments.collections.find((c) => c.slug === slug)?.deployments.find((d) => d.chainId === chainId);
  if (!deployment) throw new Error(`collection ${slug} not deployed on chain ${chainId}`);
  return deployment;
}

const signers = new Map<string, ChainSigner>();
/** One signer per (chain, key), reused within a test file so nonces never collide. */
export function signerFor(chain: ChainDeployment, privateKey: Hex): ChainSigner {
  const key = `${chain.rpcUrl}:${privateKey}`;
  let signer = signers.get(key);
  if (!signer) {
    signer = createChainSigner({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, privateKey, pollingInterval: 20 });
    signers.set(key, signer);
  }
  return signer;
}

/** Owner of a token, or null when it does not exist on that chain. */
export async function ownerOf(chain: ChainDeployment, token: Address, tokenId: bigint): Promise<Address | null> {
  const signer = signerFor(chain, deployer.privateKey);
  try {
    return await signer.publicClient.readContract({ address: token, abi: CosmicONFT721Abi, functionName: "ownerOf", args: [tokenId] });
  } catch {
    return null;
  }
}

/** Polls until `check` returns true (or throws after `timeoutMs`). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
