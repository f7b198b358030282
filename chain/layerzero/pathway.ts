/**
 * How a LayerZero pathway is configured, read from the chains themselves (never from a table): the
 * endpoint's send library for (oapp, dstEid) and that library's effective executor and ULN configs
 * (`EndpointV2.getConfig`: 1 = executor, 2 = ULN), the OApp's peer and enforced options, and on the
 * destination the receive library and its ULN config. Works for any ULN-302-compatible library.
 */
import { type Address, type Hex, decodeAbiParameters, size, zeroHash } from "viem";
import { CosmicONFT721AdapterAbi } from "../../abis/CosmicONFT721AdapterAbi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import type { ReadClient } from "../readClient.js";
import { PathwayError, pathwayErrorOf } from "./errors.js";
import { ONFT_SEND, lzReceiveBudget, lzReceiveOptions } from "./options.js";

export const CONFIG_TYPE_EXECUTOR = 1;
export const CONFIG_TYPE_ULN = 2;

export type UlnConfig = { confirmations: bigint; requiredDVNs: Address[]; optionalDVNs: Address[]; optionalDVNThreshold: number };
export type ExecutorConfig = { maxMessageSize: number; executor: Address };

const ULN_CONFIG = [
  {
    type: "tuple",
    components: [
      { name: "confirmations", type: "uint64" },
      { name: "requiredDVNCount", type: "uint8" },
      { name: "optionalDVNCount", type: "uint8" },
      { name: "optionalDVNThreshold", type: "uint8" },
      { name: "requiredDVNs", type: "address[]" },
      { name: "optionalDVNs", type: "address[]" },
    ],
  },
] as const;
const EXECUTOR_CONFIG = [
  {
    type: "tuple",
    components: [
      { name: "maxMessageSize", type: "uint32" },
      { name: "executor", type: "address" },
    ],
  },
] as const;

export function decodeUlnConfig(bytes: Hex): UlnConfig {
  const [c] = decodeAbiParameters(ULN_CONFIG, bytes);
  return { confirmations: c.confirmations, requiredDVNs: [...c.requiredDVNs], optionalDVNs: [...c.optionalDVNs], optionalDVNThreshold: c.optionalDVNThreshold };
}
export function decodeExecutorConfig(bytes: Hex): ExecutorConfig {
  const [c] = decodeAbiParameters(EXECUTOR_CONFIG, bytes);
  return { maxMessageSize: c.maxMessageSize, executor: c.executor };
}

export type SendPathway = {
  dstEid: number;
  peer: Hex;
  /** The OApp's enforced options for a plain ONFT send ("0x" when none). */
  enforcedOptions: Hex;
  sendLibrary: { address: Address; isDefault: boolean };
  executor: ExecutorConfig;
  uln: UlnConfig;
};

/** The send side of (oapp → dstEid) on the source chain. PathwayError when the pathway is not set up. */
export async function readSendPathway(client: ReadClient, args: { endpoint: Address; oapp: Address; dstEid: number }): Promise<SendPathway> {
  const { endpoint, oapp, dstEid } = args;
  let peer: Hex;
  let enforcedOptions: Hex;
  let lib: Address;
  let isDefault: boolean;
  try {
    [peer, enforcedOptions, lib, isDefault] = await Promise.all([
      client.readContract({ address: oapp, abi: CosmicONFT721AdapterAbi, functionName: "peers", args: [dstEid] }),
      client.readContract({ address: oapp, abi: CosmicONFT721AdapterAbi, functionName: "enforcedOptions", args: [dstEid, ONFT_SEND] }),
      client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "getSendLibrary", args: [oapp, dstEid] }),
      client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "isDefaultSendLibrary", args: [oapp, dstEid] }),
    ]);
  } catch (error) {
    throw pathwayErrorOf(error, `reading the pathway to EID ${dstEid}`) ?? error;
  }
  let executorBytes: Hex;
  let ulnBytes: Hex;
  try {
    [executorBytes, ulnBytes] = await Promise.all([
      client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "getConfig", args: [oapp, lib, dstEid, CONFIG_TYPE_EXECUTOR] }),
      client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "getConfig", args: [oapp, lib, dstEid, CONFIG_TYPE_ULN] }),
    ]);
  } catch (error) {
    const typed = pathwayErrorOf(error, `reading the send library config for EID ${dstEid}`);
    if (typed) throw new PathwayError("PATHWAY_NOT_CONFIGURED", typed.message, { cause: error });
    throw error;
  }
  return {
    dstEid,
    peer,
    enforcedOptions,
    sendLibrary: { address: lib, isDefault },
    executor: decodeExecutorConfig(executorBytes),
    uln: decodeUlnConfig(ulnBytes),
  };
}

export type ReceivePathway = { srcEid: number; receiveLibrary: { address: Address; isDefault: boolean }; uln: UlnConfig };

/** The receive side of (srcEid → oapp) on the destination chain. */
export async function readReceivePathway(client: ReadClient, args: { endpoint: Address; oapp: Address; srcEid: number }): Promise<ReceivePathway> {
  const { endpoint, oapp, srcEid } = args;
  try {
    const [lib, isDefault] = (await client.readContract({
      address: endpoint,
      abi: EndpointV2Abi,
      functionName: "getReceiveLibrary",
      args: [oapp, srcEid],
    })) as readonly [Address, boolean];
    const bytes = await client.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "getConfig", args: [oapp, lib, srcEid, CONFIG_TYPE_ULN] });
    return { srcEid, receiveLibrary: { address: lib, isDefault }, uln: decodeUlnConfig(bytes) };
  } catch (error) {
    const typed = pathwayErrorOf(error, `reading the receive library config for EID ${srcEid}`);
    if (typed) throw new PathwayError("PATHWAY_NOT_CONFIGURED", typed.message, { cause: error });
    throw error;
  }
}

/**
 * The `extraOptions` a send on this pathway should carry: none when the OApp enforces options (the
 * stack combines them), else lzReceive gas `defaultLzReceiveGas` — never an empty option the stack
 * refuses (LZ_ULN_InvalidWorkerOptions). PathwayError NO_PEER / NO_EXECUTOR_OPTIONS otherwise.
 */
export function sendOptionsFor(pathway: Pick<SendPathway, "dstEid" | "peer" | "enforcedOptions">, defaultLzReceiveGas: number | undefined): Hex {
  if (pathway.peer === zeroHash) throw new PathwayError("NO_PEER", `the OApp has no peer on EID ${pathway.dstEid}`);
  if (size(pathway.enforcedOptions) > 0) return "0x";
  if (!defaultLzReceiveGas)
    throw new PathwayError(
      "NO_EXECUTOR_OPTIONS",
      `the OApp enforces no options for EID ${pathway.dstEid} and no default lzReceive gas is configured (BRIDGE_DEFAULT_LZ_RECEIVE_GAS)`,
    );
  return lzReceiveOptions(BigInt(defaultLzReceiveGas));
}

/** Enforced options as a reader wants them: the bytes and the lzReceive gas/value they ask for. */
export function describeOptions(options: Hex): { hex: Hex; lzReceiveGas: string; lzReceiveValue: string } | null {
  if (size(options) === 0) return null;
  try {
    const budget = lzReceiveBudget(options);
    return { hex: options, lzReceiveGas: budget.gas.toString(), lzReceiveValue: budget.value.toString() };
  } catch {
    return { hex: options, lzReceiveGas: "0", lzReceiveValue: "0" };
  }
}
