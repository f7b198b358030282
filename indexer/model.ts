/**
 * Pure helpers of the indexing functions in src/ (no I/O, no clock, no Ponder import), so they can
 * be unit tested (model.test.ts) and shared with the bridge tracker.
 */
import {
  type Abi,
  type Address,
  type Hex,
  concat,
  decodeErrorResult,
  decodeFunctionData,
  getAbiItem,
  hexToString,
  isHex,
  numberToHex,
  pad as padHex,
  size,
  toFunctionSelector,
  zeroAddress,
} from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { CosmicONFT721AdapterAbi } from "../abis/CosmicONFT721AdapterAbi.js";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { computeGuid, decodeOnftMessage, decodePacket } from "../chain/layerzero/lzPacket.js";

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

/** Two addresses (or hex strings) are the same, ignoring case; a missing one is never the same. */
export const sameAddress = (a: string | null | undefined, b: string | null | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

export type TransferKind = "mint" | "burn" | "lock" | "unlock" | "transfer";
export type TokenState = "burned" | "locked" | "present";

/**
 * What an ERC-721 Transfer means for our index. `adapter` is the adapter holding the ERC-721 while it
 * is away (undefined for an ONFT): a transfer into it is a lock, out of it an unlock. `supplyDelta` is
 * the change of the tokens present on this chain (a locked token is not present).
 */
export function classifyTransfer(from: Address, to: Address, adapter: Address | undefined): { kind: TransferKind; state: TokenState; supplyDelta: number } {
  const kind: TransferKind =
    from === zeroAddress ? "mint" : to === zeroAddress ? "burn" : sameAddress(to, adapter) ? "lock" : sameAddress(from, adapter) ? "unlock" : "transfer";
  const state: TokenState = to === zeroAddress ? "burned" : sameAddress(to, adapter) ? "locked" : "present";
  const presentBefore = from !== zeroAddress && !sameAddress(from, adapter);
  const presentAfter = to !== zeroAddress && !sameAddress(to, adapter);
  return { kind, state, supplyDelta: Number(presentAfter) - Number(presentBefore) };
}

/** What the indexer keeps of a LayerZero packet of ours (`recipient`: the ONFT message's receiver). */
export type PacketFacts = { guid: Hex; nonce: bigint; sender: Hex; receiver: Hex; message: Hex; recipient: Address };

/** The facts of a `PacketSent.encodedPayload`. */
export function packetFacts(encodedPayload: Hex): PacketFacts {
  const packet = decodePacket(encodedPayload);
  return {
    guid: packet.guid,
    nonce: packet.nonce,
    sender: packet.sender,
    receiver: packet.receiver,
    message: packet.message,
    recipient: decodeOnftMessage(packet.message).to,
  };
}

const SEND = getAbiItem({ abi: CosmicONFT721Abi, name: "send" });
const SEND_SELECTOR = toFunctionSelector(SEND);

/**
 * The packet of an ONFTSent that was a direct `send(sendParam, fee, refund)` to the emitting OApp
 * without a compose message, rebuilt without an RPC call from the calldata and the path (its peer and
 * last outbound nonce, `null` when unknown) — or undefined when that does not apply or the rebuilt
 * packet does not hash to the event's guid.
 */
export function packetFromCalldata(
  event: { args: { guid: Hex; dstEid: number; tokenId: bigint }; log: { address: Address }; transaction: { to?: Address | null; input?: Hex } },
  srcEid: number,
  path: { peer: Hex; outboundNonce: bigint | null } | null,
): PacketFacts | undefined {
  const { to, input } = event.transaction;
  if (!path || path.outboundNonce === null || !input || !sameAddress(to, event.log.address) || input.slice(0, 10) !== SEND_SELECTOR) return undefined;
  try {
    const { args } = decodeFunctionData({ abi: [SEND], data: input });
    const sendParam = args[0];
    if (sendParam.composeMsg !== "0x" || sendParam.dstEid !== event.args.dstEid || sendParam.tokenId !== event.args.tokenId) return undefined;
    const nonce = path.outboundNonce + 1n;
    const sender = padHex(event.log.address.toLowerCase() as Hex, { size: 32 });
    const receiver = path.peer.toLowerCase() as Hex;
    if (computeGuid({ nonce, srcEid, sender, dstEid: sendParam.dstEid, receiver }) !== event.args.guid.toLowerCase()) return undefined;
    // ONFT721MsgCodec.encode(sendTo, tokenId, "") = sendTo b32 | tokenId u256.
    const message = concat([sendParam.to, numberToHex(sendParam.tokenId, { size: 32 })]).toLowerCase() as Hex;
    return { guid: event.args.guid, nonce, sender, receiver, message, recipient: decodeOnftMessage(message).to };
  } catch {
    return undefined;
  }
}
