/**
 * One bridge as the API shows it: the prepared operation (off-chain), the send half (source chain)
 * and the receive half (destination chain) joined by guid, and the progress the bridge tracker read
 * from the chains (domain/bridge) — status in LayerZero Scan's vocabulary with every step's tx and
 * time, DVN progress, `stuck` with its reason, latency, and a check that what arrived is what was sent.
 */
import { type LifecycleStatus, composeLifecycle } from "./lifecycle.js";
import type { StoredProgress } from "./progressStore.js";
import type { ReceiveRow, SendRow } from "../../read/tokens.js";
import { checksumOrNull } from "../nfts/ids.js";

export type BridgeStatus = LifecycleStatus;

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

export function composeBridge(args: {
  send?: SendRow;
  receive?: ReceiveRow;
  operation?: OperationLike;
  progress?: StoredProgress;
  nowMs: number;
  stuckAfterSeconds: number;
}) {
  const { send, receive, operation, progress } = args;
  const life = composeLifecycle({
    send,
    receive,
    progress: progress?.progress,
    // A reported transaction whose send is not indexed yet is already on its way.
    reported: !!operation?.guid,
    nowMs: args.nowMs,
    stuckAfterSeconds: args.stuckAfterSeconds,
  });
  const verification =
    send && receive && receive.status === "DELIVERED"
      ? (() => {
          const checks = {
            guid: send.guid === receive.guid,
            tokenId: receive.tokenId !== null && receive.tokenId === send.tokenId,
            recipient: receive.recipient !== null && receive.recipient.toLowerCase() === send.recipient.toLowerCase(),
            chain: send.dstChainId === receive.chainId && receive.srcChainId === send.chainId,
            collection: send.collection === receive.collection,
            // The destination committed keccak256(guid ++ message) of the source's packet (null: not read).
            payloadHash: life.payload?.matches ?? null,
          };
          return { matches: Object.values(checks).every((v) => v !== false), checks, payload: life.payload };
        })()
      : null;
  return {
    operationId: operation?.id ?? null,
    guid: send?.guid ?? receive?.guid ?? operation?.guid ?? null,
    status: life.status,
    stuck: life.stuck,
    /** The tracker could not read the destination chain lately: the status may be behind. */
    stale: progress?.stale ?? false,
    collection: send?.collection ?? receive?.collection ?? operation?.collection ?? null,
    tokenId: (send?.tokenId ?? receive?.tokenId ?? (operation ? BigInt(operation.tokenId) : null))?.toString() ?? null,
    srcChainId: send?.chainId ?? receive?.srcChainId ?? operation?.srcChainId ?? null,
    dstChainId: send?.dstChainId ?? receive?.chainId ?? operation?.dstChainId ?? null,
    sender: checksumOrNull(send?.fromAddress ?? operation?.address),
    recipient: checksumOrNull(send?.recipient ?? receive?.recipient ?? operation?.recipient),
    confirmations: life.confirmations,
    dvns: life.dvns,
    steps: {
      prepared: operation ? { at: operation.createdAt.toISOString(), txHash: operation.txHash } : null,
      ...life.steps,
    },
    /** Source block to delivering block, in seconds (block timestamps of two chains). */
    latencySeconds: send && receive?.deliveredTimestamp != null ? Number(receive.deliveredTimestamp - send.timestamp) : null,
    verification,
  };
}

export type BridgeView = ReturnType<typeof composeBridge>;
