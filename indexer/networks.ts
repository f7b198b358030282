/**
 * Real LayerZero V2 networks the indexer knows, a small checked-in table instead of
 * `@layerzerolabs/lz-evm-sdk-v2` (241 MB of deployments for 420 networks, for one address each).
 * EndpointV2 sits at one CREATE2 address on almost every EVM mainnet (0x1a44…728c) and another on
 * the testnets (0x6EDC…f10f); EIDs are LayerZero's (30xxx mainnet, 40xxx testnet); chain ids come
 * from viem/chains. Add a row (verified at docs.layerzero.network/v2/deployments/deployed-contracts)
 * to support another chain.
 */
import type { Address } from "viem";
import { arbitrum, arbitrumSepolia, avalanche, base, baseSepolia, bsc, mainnet, optimism, optimismSepolia, polygon, sepolia } from "viem/chains";

export const MAINNET_ENDPOINT_V2: Address = "0x1a44076050125825900e736c501f859c50fE728c";
export const TESTNET_ENDPOINT_V2: Address = "0x6EDCE65403992e310A62460808c4b910D972f10f";

export type KnownNetwork = { name: string; chainId: number; eid: number; endpoint: Address; testnet: boolean };

const row = (name: string, chainId: number, eid: number, testnet = false): KnownNetwork => ({
  name,
  chainId,
  eid,
  endpoint: testnet ? TESTNET_ENDPOINT_V2 : MAINNET_ENDPOINT_V2,
  testnet,
});

export const KNOWN_NETWORKS: readonly KnownNetwork[] = [
  row("ethereum", mainnet.id, 30101),
  row("bsc", bsc.id, 30102),
  row("avalanche", avalanche.id, 30106),
  row("polygon", polygon.id, 30109),
  row("arbitrum", arbitrum.id, 30110),
  row("optimism", optimism.id, 30111),
  row("base", base.id, 30184),
  row("sepolia", sepolia.id, 40161, true),
  row("arbitrum-sepolia", arbitrumSepolia.id, 40231, true),
  row("optimism-sepolia", optimismSepolia.id, 40232, true),
  row("base-sepolia", baseSepolia.id, 40245, true),
];
