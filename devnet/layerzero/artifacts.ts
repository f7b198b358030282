/**
 * LayerZero's production contracts, deployed on the devnet from the prebuilt Hardhat artifacts that
 * LayerZero publishes in its npm packages (the bytecode mainnet runs, never look-alikes). Their
 * typed ABIs are rendered into `abis/` by `npm run contracts:build` (checked by
 * test/contracts/build.test.ts); the bytecode is read from node_modules when deploying.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Abi, Hex } from "viem";

const MESSAGELIB = "@layerzerolabs/lz-evm-messagelib-v2/artifacts/contracts";
const PROTOCOL = "@layerzerolabs/lz-evm-protocol-v2/artifacts/contracts";

export const LAYERZERO_ARTIFACTS = {
  EndpointV2: `${PROTOCOL}/EndpointV2.sol/EndpointV2.json`,
  SendUln302: `${MESSAGELIB}/uln/uln302/SendUln302.sol/SendUln302.json`,
  ReceiveUln302: `${MESSAGELIB}/uln/uln302/ReceiveUln302.sol/ReceiveUln302.json`,
  ReceiveUln302View: `${MESSAGELIB}/uln/uln302/ReceiveUln302View.sol/ReceiveUln302View.json`,
  PriceFeed: `${MESSAGELIB}/PriceFeed.sol/PriceFeed.json`,
  Executor: `${MESSAGELIB}/Executor.sol/Executor.json`,
  ExecutorFeeLib: `${MESSAGELIB}/ExecutorFeeLib.sol/ExecutorFeeLib.json`,
  DVN: `${MESSAGELIB}/uln/dvn/DVN.sol/DVN.json`,
  DVNFeeLib: `${MESSAGELIB}/uln/dvn/DVNFeeLib.sol/DVNFeeLib.json`,
  Treasury: `${MESSAGELIB}/Treasury.sol/Treasury.json`,
  LzExecutor: `${MESSAGELIB}/uln/LzExecutor.sol/LzExecutor.json`,
} as const;
export type LayerZeroContract = keyof typeof LAYERZERO_ARTIFACTS;

export type LayerZeroArtifact = { contractName: LayerZeroContract; sourceName: string; abi: Abi; bytecode: Hex };

const require = createRequire(import.meta.url);
const cache = new Map<LayerZeroContract, LayerZeroArtifact>();

export function layerZeroArtifact(name: LayerZeroContract): LayerZeroArtifact {
  let artifact = cache.get(name);
  if (!artifact) {
    const file = require.resolve(LAYERZERO_ARTIFACTS[name]);
    const json = JSON.parse(readFileSync(file, "utf8")) as { sourceName: string; abi: Abi; bytecode: Hex; linkReferences?: object };
    if (json.linkReferences && Object.keys(json.linkReferences).length) throw new Error(`${name}: linked libraries are not supported`);
    artifact = {
      contractName: name,
      sourceName: `${LAYERZERO_ARTIFACTS[name].split("/artifacts/")[0]}/${json.sourceName}`,
      abi: json.abi,
      bytecode: json.bytecode,
    };
    cache.set(name, artifact);
  }
  return artifact;
}
