/**
 * Deploys LayerZero's production message stack (layerzero/deployStack.ts) and our collections on
 * every devnet chain, and wires them: default libraries, ULN and executor configs for every pair of
 * EIDs; for every pair of collection deployments `setPeer` and the collection's enforced options
 * (lzReceive gas for an ONFT send), set by the collections' owner as LayerZero recommends.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type Abi, type Address, type Hex, pad } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { CosmicONFT721AdapterAbi } from "../abis/CosmicONFT721AdapterAbi.js";
import { ONFT_SEND, lzReceiveOptions } from "../chain/layerzero/options.js";
import { type ChainSigner, createChainSigner } from "../chain/signer.js";
import type { DevnetAccount } from "./accounts.js";
import type { ChainDeployment, Collection, CollectionDeployment, Deployments } from "../chain/deployments.js";
import { deployLayerZeroStack } from "./layerzero/deployStack.js";
import type { LayerZeroSettings } from "./options.js";

const artifactsDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../artifacts");

function bytecode(name: string): Hex {
  return (JSON.parse(readFileSync(path.join(artifactsDir, `${name}.json`), "utf8")) as { bytecode: Hex }).bytecode;
}
function abi(name: string): Abi {
  return (JSON.parse(readFileSync(path.join(artifactsDir, `${name}.json`), "utf8")) as { abi: Abi }).abi;
}

export type DevnetChainSpec = { name: string; chainId: number; eid: number; rpcUrl: string; wsUrl?: string };

export type DeployOptions = {
  chains: DevnetChainSpec[];
  accounts: DevnetAccount[];
  deployer: DevnetAccount;
  /** Base token URI of the main collection (`<base><tokenId>`). */
  baseURI?: string;
  layerZero: LayerZeroSettings;
  /** Place EndpointV2 at this address on every chain (layerzero/deployStack.ts). */
  endpointAddress?: Address;
  log?: (line: string) => void;
};

/** Collections the devnet deploys: one native omnichain collection, one adapted legacy collection. */
export const DEVNET_COLLECTIONS = {
  cosmic: { name: "Cosmic Loop", symbol: "COSMIC" },
  legacy: { name: "Legacy Punks", symbol: "LEGACY" },
} as const;

export async function deployDevnet(options: DeployOptions): Promise<Deployments> {
  const log = options.log ?? (() => {});
  const signers = options.chains.map((chain) =>
    createChainSigner({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, privateKey: options.deployer.privateKey, pollingInterval: 20 }),
  );
  const owner = options.deployer.address;
  const baseURI = options.baseURI ?? "https://metadata.cosmic-loop.local/cosmic/";

  // 1. Protocol + collections on every chain, chains in parallel.
  const perChain = await Promise.all(
    options.chains.map(async (chain, index) => {
      const signer = signers[index]!;
      const startBlock = Number(await signer.publicClient.getBlockNumber());
      const gasPrice = (i: number) => options.layerZero.gasPriceGwei[options.layerZero.gasPriceGwei.length === 1 ? 0 : i]!;
      const { endpoint, layerZero } = await deployLayerZeroStack({
        signer,
        chain,
        remotes: options.chains.flatMap((remote, i) => (remote.eid === chain.eid ? [] : [{ eid: remote.eid, gasPriceGwei: gasPrice(i) }])),
        settings: options.layerZero,
        owner,
        endpointAt: options.endpointAddress,
      });
      const cosmic = await deployOnft(signer, DEVNET_COLLECTIONS.cosmic, baseURI, endpoint, owner);
      // The legacy collection lives on the first chain and is bridged out through an adapter.
      let legacy: CollectionDeployment;
      if (index === 0) {
        const token = await signer.deploy({
          label: "LegacyERC721",
          abi: abi("LegacyERC721"),
          bytecode: bytecode("LegacyERC721"),
          args: [DEVNET_COLLECTIONS.legacy.name, DEVNET_COLLECTIONS.legacy.symbol, "https://metadata.cosmic-loop.local/legacy/", owner],
        });
        const adapter = await signer.deploy({
          label: "CosmicONFT721Adapter",
          abi: abi("CosmicONFT721Adapter"),
          bytecode: bytecode("CosmicONFT721Adapter"),
          args: [token.address, endpoint, owner],
        });
        legacy = { chainId: chain.chainId, eid: chain.eid, kind: "adapter", address: adapter.address, token: token.address, startBlock };
      } else {
        const onft = await deployOnft(signer, DEVNET_COLLECTIONS.legacy, "https://metadata.cosmic-loop.local/legacy/", endpoint, owner);
        legacy = { chainId: chain.chainId, eid: chain.eid, kind: "onft", address: onft, token: onft, startBlock };
      }
      log(`  ${chain.name}: endpoint ${endpoint}, ${layerZero.dvns.length} DVNs, executor, collections deployed`);
      const chainDeployment: ChainDeployment = { ...chain, endpoint, layerZero, startBlock };
      return {
        chainDeployment,
        cosmic: { chainId: chain.chainId, eid: chain.eid, kind: "onft", address: cosmic, token: cosmic, startBlock } satisfies CollectionDeployment,
        legacy,
      };
    }),
  );

  const collections: Collection[] = [
    { slug: "cosmic", ...DEVNET_COLLECTIONS.cosmic, deployments: perChain.map((c) => c.cosmic) },
    { slug: "legacy", ...DEVNET_COLLECTIONS.legacy, deployments: perChain.map((c) => c.legacy) },
  ];

  // 2. Peers: every deployment of a collection trusts every other one; a send to each of them
  //    enforces the lzReceive gas the destination needs (so an empty `extraOptions` works).
  const enforced = lzReceiveOptions(BigInt(options.layerZero.lzReceiveGas));
  await Promise.all(
    options.chains.map(async (chain, index) => {
      // One account's transactions one after another (see layerzero/deployStack.ts); chains in parallel.
      const signer = signers[index]!;
      for (const collection of collections) {
        const local = collection.deployments.find((d) => d.chainId === chain.chainId)!;
        const remotes = collection.deployments.filter((d) => d.chainId !== chain.chainId);
        for (const remote of remotes)
          await signer.write({
            label: `${collection.slug}.setPeer(${remote.eid})`,
            address: local.address,
            abi: CosmicONFT721AdapterAbi,
            functionName: "setPeer",
            args: [remote.eid, pad(remote.address, { size: 32 })],
          });
        if (remotes.length) {
          await signer.write({
            label: `${collection.slug}.setEnforcedOptions`,
            address: local.address,
            abi: CosmicONFT721AdapterAbi,
            functionName: "setEnforcedOptions",
            args: [remotes.map((remote) => ({ eid: remote.eid, msgType: ONFT_SEND, options: enforced }))],
          });
        }
      }
    }),
  );
  log(`  peers and enforced options (lzReceive ${options.layerZero.lzReceiveGas} gas) wired for every pair`);

  return {
    network: "devnet",
    createdAt: new Date().toISOString(),
    devnetId: randomUUID(),
    chains: perChain.map((c) => c.chainDeployment),
    layerZeroSettings: options.layerZero,
    collections,
    accounts: options.accounts,
  };
}

async function deployOnft(signer: ChainSigner, meta: { name: string; symbol: string }, baseURI: string, endpoint: Address, owner: Address): Promise<Address> {
  const { address } = await signer.deploy({
    label: `CosmicONFT721 ${meta.symbol}`,
    abi: abi("CosmicONFT721"),
    bytecode: bytecode("CosmicONFT721"),
    args: [meta.name, meta.symbol, baseURI, endpoint, owner],
  });
  // The deployer is the devnet's minter (the API's minter key locally).
  await signer.write({ address, abi: CosmicONFT721Abi, functionName: "setMinter", args: [owner, true] });
  return address;
}
