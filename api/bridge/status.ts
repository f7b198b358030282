/**
 * One bridge as the API shows it: the prepared operation (off-chain), the send half (source chain)
 * and the receive half (destination chain) joined by guid; status in LayerZero Scan's vocabulary,
 * every step's tx and time, latency, `stuck`, and a check that what arrived is what was sent.
 */
import type { ReceiveRow, SendRow } from "../indexed/tokens.js";
import { checksumOrNull } from "../nfts/ids.js";

export type BridgeStatus = "PREPARED" | "INFLIGHT" | "VERIFIED" | "DELIVERED" | "FAILED";

export type OperationLike = {
  id: string;
  address: string;
  collection: string;
  tokenId: string;
  srcChainId: number;
  dstChainId: number;
  recipient: string;
  txHash: string | null;
  /** Set once the send is known (reported tx receipt, or found in the index). */
  guid: string | null;
  createdAt: Date;
};

const step = (txHash: string | null | undefined, blockNumber: bigint | null | undefined, timestamp: bigint | null | undefined) =>
  txHash ? { txHash, blockNumber: blockNumber != null ? Number(blockNumber) : null, at: timestamp != null ? new Date(Number(timestamp) * 1000).toISOString() : null } : null;

export function composeBridge(args: { send?: SendRow; receive?: ReceiveRow; operation?: OperationLike; nowMs: number; stuckAfterSeconds: number }) {
  const { send, receive, operation } = args;
  let status: BridgeStatus;
  // A reported transaction whose send is not indexed yet is already on its way.
  if (!send && !receive) status = operation?.guid ? "INFLIGHT" : "PREPARED";
  else if (!receive) status = "INFLIGHT";
  else status = receive.status as BridgeStatus;
  const inFlight = status === "INFLIGHT" || status === "VERIFIED";
  const sentAtMs = send ? Number(send.timestamp) * 1000 : undefined;
  const stuck = inFlight && sentAtMs !== undefined && args.nowMs - sentAtMs > args.stuckAfterSeconds * 1000;
  const verification =
    send && receive && receive.status === "DELIVERED"
      ? (() => {
          const checks = {
            guid: send.guid === receive.guid,
            tokenId: receive.tokenId !== null && receive.tokenId === send.tokenId,
            recipient: receive.recipient !== null && receive.recipient.toLowerCase() === send.recipient.toLowerCase(),
            chain: send.dstChainId === receive.chainId && receive.srcChainId === send.chainId,
            collection: send.collection === receive.collection,
          };
          return { matches: Object.values(checks).every(Boolean), checks };
        })()
      : null;
  return {
    operationId: operation?.id ?? null,
    guid: send?.guid ?? receive?.guid ?? operation?.guid ?? null,
    status,
    stuck,
    collection: send?.collection ?? receive?.collection ?? operation?.collection ?? null,
    tokenId: (send?.tokenId ?? receive?.tokenId ?? (operation ? BigInt(operation.tokenId) : null))?.toString() ?? null,
    srcChainId: send?.chainId ?? receive?.srcChainId ?? operation?.srcChainId ?? null,
    dstChainId: send?.dstChainId ?? receive?.chainId ?? operation?.dstChainId ?? null,
    sender: checksumOrNull(send?.fromAddress ?? operation?.address),
    recipient: checksumOrNull(send?.recipient ?? receive?.recipient ?? operation?.recipient),
    steps: {
      prepared: operation ? { at: operation.createdAt.toISOString(), txHash: operation.txHash } : null,
      sent: send ? step(send.txHash, send.blockNumber, send.timestamp) : null,
      verified: step(receive?.verifiedTxHash, receive?.verifiedBlock, receive?.verifiedTimestamp),
      delivered: step(receive?.deliveredTxHash, receive?.deliveredBlock, receive?.deliveredTimestamp),
      failed: receive?.failedTxHash
        ? { ...step(receive.failedTxHash, receive.failedBlock, receive.failedTimestamp)!, reason: receive.failureReason, attempts: receive.failureCount }
        : null,
    },
    /** Source block to delivering block, in seconds (block timestamps of two chains). */
    latencySeconds: send && receive?.deliveredTimestamp != null ? Number(receive.deliveredTimestamp - send.timestamp) : null,
    verification,
  };
}

export type BridgeView = ReturnType<typeof composeBridge>;
