import { describe, expect, it } from "vitest";
import { lifecycleStatus, stuckReason } from "./lifecycle.js";
import type { BridgeProgress, DvnProgress } from "./progress.js";

const dvnA = "0x000000000000000000000000000000000000000A";
const dvnB = "0x000000000000000000000000000000000000000b";
const dvn = (address: `0x${string}`, verified: boolean): DvnProgress => ({ address, required: true, verified, confirmations: verified ? 2 : null, step: null });

function progress(over: Partial<BridgeProgress>): BridgeProgress {
  return {
    guid: `0x${"11".repeat(32)}`,
    srcChainId: 31337,
    dstChainId: 31338,
    sendBlock: 10,
    sourceConfirmations: 2,
    requiredConfirmations: 2,
    requiredDvnCount: 2,
    optionalDvnThreshold: 0,
    dvns: [dvn(dvnA, false), dvn(dvnB, false)],
    committed: null,
    clearedOnChain: false,
    observedBlock: 20,
    observedAt: "2026-12-02T00:00:00.000Z",
    ...over,
  };
}

describe("bridge lifecycle", () => {
  it("walks PREPARED → INFLIGHT → CONFIRMING → VERIFIED → DELIVERED as the facts arrive", () => {
    expect(lifecycleStatus({ sent: false })).toBe("PREPARED");
    expect(lifecycleStatus({ sent: false, reported: true })).toBe("INFLIGHT");
    expect(lifecycleStatus({ sent: true })).toBe("INFLIGHT");
    expect(lifecycleStatus({ sent: true, progress: progress({ dvns: [dvn(dvnA, true), dvn(dvnB, false)] }) })).toBe("CONFIRMING");
    const committed = progress({ committed: { payloadHash: `0x${"22".repeat(32)}`, step: null } });
    expect(lifecycleStatus({ sent: true, progress: committed })).toBe("VERIFIED");
    expect(lifecycleStatus({ sent: true, progress: progress({ clearedOnChain: true }) })).toBe("VERIFIED");
    expect(lifecycleStatus({ sent: true, progress: committed, receive: { status: "DELIVERED" } })).toBe("DELIVERED");
  });

  it("an indexed receive decides, even before the send half is indexed", () => {
    expect(lifecycleStatus({ sent: false, receive: { status: "DELIVERED" } })).toBe("DELIVERED");
    expect(lifecycleStatus({ sent: true, receive: { status: "FAILED" } })).toBe("FAILED");
  });

  it("names what a bridge in flight waits for", () => {
    expect(stuckReason("INFLIGHT", undefined)).toEqual({ reason: "NOT_OBSERVED" });
    expect(stuckReason("INFLIGHT", progress({ sourceConfirmations: 1 }))).toEqual({ reason: "WAITING_CONFIRMATIONS" });
    expect(stuckReason("CONFIRMING", progress({ dvns: [dvn(dvnA, true), dvn(dvnB, false)] }))).toEqual({ reason: "WAITING_DVN", waitingFor: [dvnB] });
    expect(stuckReason("CONFIRMING", progress({ dvns: [dvn(dvnA, true), dvn(dvnB, true)] }))).toEqual({ reason: "WAITING_COMMIT" });
    expect(stuckReason("VERIFIED", progress({}))).toEqual({ reason: "WAITING_EXECUTOR" });
    expect(stuckReason("FAILED", progress({}))).toEqual({ reason: "EXECUTION_FAILED" });
  });
});
