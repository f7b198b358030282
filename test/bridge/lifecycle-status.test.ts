/** The bridge lifecycle composed from the index and the tracker's progress (domain/bridge/lifecycle.ts), pure. */
import { type Hex, concatHex, keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { composeLifecycle, lifecycleStatus, stuckReason } from "../../domain/bridge/lifecycle.js";
import type { BridgeProgress } from "../../domain/bridge/progress.js";
import { interleaveUpdates } from "../../realtime/pushOrder.js";
import { stepKeys } from "../../realtime/bridgeUpdates.js";

const guid = `0x${"11".repeat(32)}` as Hex;
const message = `0x${"22".repeat(64)}` as Hex;
const A = "0x00000000000000000000000000000000000000aA" as const;
const B = "0x00000000000000000000000000000000000000bB" as const;
const step = (txHash: string) => ({ txHash: txHash as Hex, blockNumber: 7, at: "2026-01-01T00:00:10.000Z" });
const progress = (over: Partial<BridgeProgress> = {}): BridgeProgress => ({
  guid,
  srcChainId: 1,
  dstChainId: 2,
  sendBlock: 10,
  sourceConfirmations: 1,
  requiredConfirmations: 2,
  requiredDvnCount: 2,
  optionalDvnThreshold: 0,
  dvns: [
    { address: A, required: true, verified: false, confirmations: null, step: null },
    { address: B, required: true, verified: false, confirmations: null, step: null },
  ],
  committed: null,
  clearedOnChain: false,
  observedBlock: 5,
  observedAt: "2026-01-01T00:00:11.000Z",
  ...over,
});
const verified = (p: BridgeProgress, ...which: string[]) => ({
  ...p,
  dvns: p.dvns.map((d) => (which.includes(d.address) ? { ...d, verified: true, confirmations: 2, step: step(`0x${d.address.slice(-2)}`) } : d)),
});

describe("bridge lifecycle", () => {
  it("walks PREPARED → INFLIGHT → CONFIRMING → VERIFIED → DELIVERED / FAILED", () => {
    expect(lifecycleStatus({ sent: false })).toBe("PREPARED");
    expect(lifecycleStatus({ sent: false, reported: true })).toBe("INFLIGHT");
    expect(lifecycleStatus({ sent: true })).toBe("INFLIGHT");
    expect(lifecycleStatus({ sent: true, progress: progress() })).toBe("INFLIGHT");
    expect(lifecycleStatus({ sent: true, progress: verified(progress(), A) })).toBe("CONFIRMING");
    expect(lifecycleStatus({ sent: true, progress: progress({ committed: { payloadHash: guid, step: null } }) })).toBe("VERIFIED");
    expect(lifecycleStatus({ sent: true, receive: { status: "FAILED" }, progress: progress() })).toBe("FAILED");
    expect(lifecycleStatus({ sent: true, receive: { status: "DELIVERED" }, progress: progress() })).toBe("DELIVERED");
  });

  it("says what a stuck bridge waits for", () => {
    expect(stuckReason("INFLIGHT", undefined)).toEqual({ reason: "NOT_OBSERVED" });
    expect(stuckReason("INFLIGHT", progress())).toEqual({ reason: "WAITING_CONFIRMATIONS" });
    expect(stuckReason("CONFIRMING", verified(progress({ sourceConfirmations: 2 }), A))).toEqual({ reason: "WAITING_DVN", waitingFor: [B] });
    expect(stuckReason("CONFIRMING", verified(progress({ sourceConfirmations: 2 }), A, B))).toEqual({ reason: "WAITING_COMMIT" });
    expect(stuckReason("VERIFIED", progress())).toEqual({ reason: "WAITING_EXECUTOR" });
    expect(stuckReason("FAILED", progress())).toEqual({ reason: "EXECUTION_FAILED" });
    // An optional DVN below its threshold is waited for too.
    const optional = progress({
      sourceConfirmations: 2,
      requiredDvnCount: 1,
      optionalDvnThreshold: 1,
      dvns: [
        { address: A, required: true, verified: true, confirmations: 2, step: null },
        { address: B, required: false, verified: false, confirmations: null, step: null },
      ],
    });
    expect(stuckReason("CONFIRMING", optional)).toEqual({ reason: "WAITING_DVN", waitingFor: [B] });
  });

  it("composes steps, stuck since the last completed step, and the payload check", () => {
    const send = { guid, message, txHash: "0xsend", blockNumber: 10n, timestamp: 1_767_225_600n }; // 2026-01-01T00:00:00Z
    const nowMs = Date.parse("2026-01-01T00:20:00Z");
    const waiting = composeLifecycle({ send, progress: verified(progress({ sourceConfirmations: 2 }), A), nowMs, stuckAfterSeconds: 900 });
    expect(waiting).toMatchObject({ status: "CONFIRMING", confirmations: { current: 2, required: 2 }, dvns: { verified: 1, required: 2 } });
    expect(waiting.stuck).toEqual({ since: "2026-01-01T00:00:10.000Z", reason: "WAITING_DVN", waitingFor: [B] });
    expect(composeLifecycle({ send, progress: progress(), nowMs: Date.parse("2026-01-01T00:01:00Z"), stuckAfterSeconds: 900 }).stuck).toBeNull();

    const payloadHash = keccak256(concatHex([guid, message]));
    const receive = {
      status: "DELIVERED",
      deliveredTxHash: "0xd",
      deliveredBlock: 9n,
      deliveredTimestamp: 1_767_225_620n,
      failedTxHash: null,
      failedBlock: null,
      failedTimestamp: null,
      failureReason: null,
      failureCount: 0,
    };
    const done = composeLifecycle({
      send,
      receive,
      progress: verified(progress({ committed: { payloadHash, step: step("0xc") } }), A, B),
      nowMs,
      stuckAfterSeconds: 900,
    });
    expect(done.status).toBe("DELIVERED");
    expect(done.stuck).toBeNull();
    expect(done.steps.verified).toMatchObject({ txHash: "0xc" });
    expect(done.payload).toEqual({
      expectedHash: payloadHash,
      committedHash: payloadHash,
      matches: true,
      attestedBy: [
        { address: A, confirmations: 2 },
        { address: B, confirmations: 2 },
      ],
    });
    const forged = composeLifecycle({ send, receive, progress: progress({ committed: { payloadHash: guid, step: null } }), nowMs, stuckAfterSeconds: 900 });
    expect(forged.payload?.matches).toBe(false);
  });

  it("steps of bridge:updated, and their place between a bridge's initiated and its completion", () => {
    expect(stepKeys(progress())).toEqual(["confirmations:1"]);
    expect(stepKeys(verified(progress({ sourceConfirmations: 5, committed: { payloadHash: guid, step: null } }), B))).toEqual([
      "confirmations:1",
      "confirmations:2",
      `dvn:${B.toLowerCase()}`,
      "committed",
    ]);
    const p = (orderKey: string, half: "source" | "destination" | "none", g?: string) => ({ orderKey, half, guid: g, envelope: `${half}:${g ?? orderKey}` });
    const updates = new Map([
      ["g1", ["u1a", "u1b"]],
      ["g2", ["u2"]],
      ["g3", ["u3"]],
    ]);
    expect(interleaveUpdates([p("1", "source", "g1"), p("2", "none"), p("3", "destination", "g2")], updates)).toEqual([
      "source:g1",
      "u1a",
      "u1b",
      "none:2",
      "u2",
      "destination:g2",
      "u3",
    ]);
  });
});
