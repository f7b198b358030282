/** Pure helpers of the indexing functions (no I/O, no clock). */
import { type Abi, type Hex, decodeErrorResult, hexToString, isHex, size } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { CosmicONFT721AdapterAbi } from "../abis/CosmicONFT721AdapterAbi.js";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";

const pad = (value: bigint | number, width: number) => value.toString().padStart(width, "0");

/**
 * Total order of indexed facts, identical on every run: block timestamp, then chain id, block number
 * and log index. Text so it compares the same in SQL, GraphQL and JS.
 */
export function orderKey(timestamp: bigint, chainId: number, blockNumber: bigint, logIndex: number): string {
  return `${pad(timestamp, 12)}-${pad(chainId, 10)}-${pad(blockNumber, 12)}-${pad(logIndex, 6)}`;
}

const errorAbis: Abi[] = [
  [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }],
  [{ type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] }],
  CosmicONFT721Abi as Abi,
  CosmicONFT721AdapterAbi as Abi,
  EndpointV2Abi as Abi,
];

/**
 * A delivery alert without revert data: the executor's call ran out of the gas the sender paid for
 * (Executor.execute302 catches it; LayerZero Scan shows the same), or lzReceive reverted bare.
 */
export const NO_REVERT_DATA_REASON = "out of gas (or reverted without data)";

/** Human-readable revert reason of an LzReceiveAlert (`Error(string)`, a custom error, UTF-8 text or hex). */
export function describeRevert(reason: Hex): string {
  if (!isHex(reason) || size(reason) === 0) return NO_REVERT_DATA_REASON;
  for (const abi of errorAbis) {
    try {
      const decoded = decodeErrorResult({ abi, data: reason });
      if (decoded.errorName === "Error") return String(decoded.args?.[0]);
      return `${decoded.errorName}(${(decoded.args ?? []).map((a) => String(a)).join(", ")})`;
    } catch {}
  }
  try {
    const text = hexToString(reason);
    if (/^[\x20-\x7e]+$/.test(text)) return text;
  } catch {}
  return reason;
}
