/**
 * One bridge's lifecycle, as LayerZero Scan shows it, composed from the prepared operation
 * (off-chain), the send and receive halves (index) and the progress read from the chains
 * (progress.ts) — one status for every reader:
 *
 *   PREPARED → INFLIGHT (sent; source confirmations so far / required) → CONFIRMING (k of n DVNs
 *   attested) → VERIFIED (committed on the destination endpoint) → DELIVERED; FAILED (delivery
 *   reverted: LzReceiveAlert; the packet stays verified and a retry can deliver it).
 *
 * A bridge in flight longer than the stuck threshold carries `stuck: { since, reason }`: since the
 * last step it completed, and what it waits for. Pure.
 */
import { type Hex, concatHex, keccak256 } from "viem";
import { type BridgeProgress, type StepOnChain, dvnRequirementMet, missingDvns, verifiedDvns } from "./progress.js";

export type LifecycleStatus = "PREPARED" | "INFLIGHT" | "CONFIRMING" | "VERIFIED" | "DELIVERED" | "FAILED";
export const LIFECYCLE_STATUSES: readonly LifecycleStatus[] = ["PREPARED", "INFLIGHT", "CONFIRMING", "VERIFIED", "DELIVERED", "FAILED"];

export type StuckReason = "WAITING_CONFIRMATIONS" | "WAITING_DVN" | "WAITING_COMMIT" | "WAITING_EXECUTOR" | "EXECUTION_FAILED" | "NOT_OBSERVED";
export const STUCK_REASONS: readonly StuckReason[] = [
  "WAITING_CONFIRMATIONS",
  "WAITING_DVN",
  "WAITING_COMMIT",
  "WAITING_EXECUTOR",
  "EXECUTION_FAILED",
  "NOT_OBSERVED",
];

export type SendHalf = { guid: string; message: Hex; txHash: string; blockNumber: bigint; timestamp: bigint };
export type ReceiveHalf = {
  status: string;
  deliveredTxHash: string | null;
  deliveredBlock: bigint | null;
  deliveredTimestamp: bigint | null;
  failedTxHash: string | null;
  failedBlock: bigint | null;
  failedTimestamp: bigint | null;
  failureReason: string | null;
  failureCount: number;
};

const at = (timestamp: bigint | null | undefined) => (timestamp != null ? new Date(Number(timestamp) * 1000).toISOString() : null);

export function lifecycleStatus(args: {
  sent: boolean;
  reported?: boolean;
  receive?: Pick<ReceiveHalf, "status">;
  progress?: BridgeProgress;
}): LifecycleStatus {
  const { receive, progress } = args;
  if (receive?.status === "DELIVERED") return "DELIVERED";
  if (receive?.status === "FAILED") return "FAILED";
  if (!args.sent) return args.reported ? "INFLIGHT" : "PREPARED";
  if (progress?.committed || progress?.clearedOnChain) return "VERIFIED";
  if (progress && verifiedDvns(progress).length > 0) return "CONFIRMING";
  return "INFLIGHT";
}

export type Stuck = { since: string; reason: StuckReason; waitingFor?: string[] };

/** What a bridge in flight waits for. */
export function stuckReason(status: LifecycleStatus, progress: BridgeProgress | undefined): Pick<Stuck, "reason" | "waitingFor"> {
  if (status === "FAILED") return { reason: "EXECUTION_FAILED" };
  if (!progress) return { reason: "NOT_OBSERVED" };
  if (status === "VERIFIED") return { reason: "WAITING_EXECUTOR" };
  if (dvnRequirementMet(progress)) return { reason: "WAITING_COMMIT" };
  if (progress.sourceConfirmations < progress.requiredConfirmations) return { reason: "WAITING_CONFIRMATIONS" };
  return { reason: "WAITING_DVN", waitingFor: missingDvns(progress) };
}

/** The payload hash the destination must hold for this send: keccak256(guid ++ message). */
export const expectedPayloadHash = (send: Pick<SendHalf, "guid" | "message">): Hex => keccak256(concatHex([send.guid as Hex, send.message]));

export function composeLifecycle(args: {
  send?: SendHalf;
  receive?: ReceiveHalf;
  progress?: BridgeProgress;
  reported?: boolean;
  nowMs: number;
  stuckAfterSeconds: number;
}) {
  const { send, receive, progress } = args;
  const status = lifecycleStatus({ sent: !!send, reported: args.reported, receive, progress });
  const inFlight = status === "INFLIGHT" || status === "CONFIRMING" || status === "VERIFIED" || status === "FAILED";
  const dvns = (progress?.dvns ?? []).map((d) => ({
    address: d.address,
    required: d.required,
    verified: d.verified,
    confirmations: d.confirmations,
    ...(d.step ?? { txHash: null, blockNumber: null, at: null }),
  }));
  const committed: (StepOnChain | { txHash: null; blockNumber: null; at: null }) | null = progress?.committed
    ? (progress.committed.step ?? { txHash: null, blockNumber: null, at: null })
    : null;

  // The last completed step: when the current wait began.
  const times = [send && at(send.timestamp), ...dvns.map((d) => d.at), committed?.at, receive?.failedTxHash ? at(receive.failedTimestamp) : null].filter(
    (t): t is string => !!t,
  );
  const sentAtMs = send ? Number(send.timestamp) * 1000 : undefined;
  const stuck: Stuck | null =
    inFlight && sentAtMs !== undefined && args.nowMs - sentAtMs > args.stuckAfterSeconds * 1000
      ? { since: times.sort().at(-1) ?? new Date(sentAtMs).toISOString(), ...stuckReason(status, progress) }
      : null;

  return {
    status,
    stuck,
    confirmations: progress ? { current: progress.sourceConfirmations, required: progress.requiredConfirmations } : null,
    dvns: progress
      ? { verified: verifiedDvns(progress).length, required: progress.requiredDvnCount, optionalThreshold: progress.optionalDvnThreshold, items: dvns }
      : null,
    steps: {
      sent: send ? { txHash: send.txHash, blockNumber: Number(send.blockNumber), at: at(send.timestamp) } : null,
      verified: committed,
      delivered: receive?.deliveredTxHash
        ? {
            txHash: receive.deliveredTxHash,
            blockNumber: receive.deliveredBlock != null ? Number(receive.deliveredBlock) : null,
            at: at(receive.deliveredTimestamp),
          }
        : null,
      failed: receive?.failedTxHash
        ? {
            txHash: receive.failedTxHash,
            blockNumber: receive.failedBlock != null ? Number(receive.failedBlock) : null,
            at: at(receive.failedTimestamp),
            reason: receive.failureReason,
            attempts: receive.failureCount,
          }
        : null,
    },
    /** What the destination holds equals what the source sent, and who attested it (delivered bridges). */
    payload:
      send && status === "DELIVERED"
        ? {
            expectedHash: expectedPayloadHash(send),
            committedHash: progress?.committed?.payloadHash ?? null,
            matches: progress?.committed ? progress.committed.payloadHash === expectedPayloadHash(send) : null,
            attestedBy: dvns.filter((d) => d.verified).map((d) => ({ address: d.address, confirmations: d.confirmations })),
          }
        : null,
  };
}

export type Lifecycle = ReturnType<typeof composeLifecycle>;
