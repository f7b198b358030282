/**
 * Typed errors of a LayerZero pathway, in viem's style (a `code`, the revert behind it as `cause`),
 * and the decoding of reverts that bubble up through the OApp from the endpoint, the send library
 * and the workers' fee libraries (viem decodes only with the called contract's ABI).
 */
import { type Abi, BaseError, ContractFunctionRevertedError, type Hex, decodeErrorResult } from "viem";
import { CosmicONFT721AdapterAbi } from "../../abis/CosmicONFT721AdapterAbi.js";
import { DVNAbi } from "../../abis/DVNAbi.js";
import { DVNFeeLibAbi } from "../../abis/DVNFeeLibAbi.js";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ExecutorAbi } from "../../abis/ExecutorAbi.js";
import { ExecutorFeeLibAbi } from "../../abis/ExecutorFeeLibAbi.js";
import { SendUln302Abi } from "../../abis/SendUln302Abi.js";
import { TreasuryAbi } from "../../abis/TreasuryAbi.js";
import { CosmicError } from "../../infra/errors.js";

export type PathwayErrorCode =
  /** The OApp has no peer for the destination EID. */
  | "NO_PEER"
  /** No enforced options on the OApp and no default lzReceive gas configured: the stack would refuse. */
  | "NO_EXECUTOR_OPTIONS"
  /** The endpoint has no send library (or its library no config) for the destination EID. */
  | "PATHWAY_NOT_CONFIGURED"
  /** The pathway's executor or a DVN does not serve the destination EID. */
  | "UNSUPPORTED_EID"
  /** The options the OApp combined are refused by the send library or a worker. */
  | "INVALID_OPTIONS"
  /** A worker is paused or refuses the sender. */
  | "WORKER_UNAVAILABLE"
  /** Any other revert of the quote (its decoded name is in the message). */
  | "QUOTE_REVERTED";

export class PathwayError extends CosmicError {
  override name = "PathwayError";
  declare readonly code: PathwayErrorCode;
  constructor(code: PathwayErrorCode, message: string, options?: { cause?: unknown }) {
    // The pathway exists but this stack refuses the send as configured.
    super("unprocessable", code, message, options);
  }
}

const errorAbi = [CosmicONFT721AdapterAbi, EndpointV2Abi, SendUln302Abi, ExecutorAbi, ExecutorFeeLibAbi, DVNAbi, DVNFeeLibAbi, TreasuryAbi]
  .flatMap((abi) => (abi as Abi).filter((item) => item.type === "error"))
  .filter((item, i, all) => all.findIndex((other) => JSON.stringify(other) === JSON.stringify(item)) === i) as Abi;

export type DecodedRevert = { errorName: string; args: readonly unknown[]; data: Hex };

/** The revert data inside a viem error (a failed readContract / estimate), decoded against every LayerZero ABI. */
export function layerZeroRevert(error: unknown): DecodedRevert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  const data = reverted?.raw;
  if (!reverted || !data) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: errorAbi, data });
    return { errorName: decoded.errorName, args: decoded.args ?? [], data };
  } catch {
    return { errorName: reverted.reason ? `Error(${reverted.reason})` : "unknown", args: [], data };
  }
}

const CODES: [RegExp, PathwayErrorCode][] = [
  [/^NoPeer$/, "NO_PEER"],
  [/^LZ_DefaultSendLibUnavailable$|^LZ_UnsupportedEid$|^LZ_ULN_AtLeastOneDVN$|^LZ_MessageLib_InvalidExecutor$/, "PATHWAY_NOT_CONFIGURED"],
  [/EidNotSupported$/, "UNSUPPORTED_EID"],
  [
    /^LZ_ULN_Invalid|^LZ_ULN_UnsupportedOptionType|^Executor_NoOptions|^Executor_ZeroLzReceiveGasProvided|^Executor_Invalid|^Executor_UnsupportedOptionType|^DVN_|^InvalidOptions$/,
    "INVALID_OPTIONS",
  ],
  [/^Error\(Pausable: paused\)$|NotAllowed|^Worker_/, "WORKER_UNAVAILABLE"],
];

/** A PathwayError for a reverted quote or send simulation; undefined when the error is not a revert. */
export function pathwayErrorOf(error: unknown, what: string): PathwayError | undefined {
  const revert = layerZeroRevert(error);
  if (!revert) return undefined;
  const code = CODES.find(([pattern]) => pattern.test(revert.errorName))?.[1] ?? "QUOTE_REVERTED";
  const args = revert.args.map((a) => String(a)).join(", ");
  return new PathwayError(code, `${what} reverted: ${revert.errorName}(${args})`, { cause: error });
}
