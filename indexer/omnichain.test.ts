import { describe, expect, it } from "vitest";
import { bridgeStatus, deriveLocation, joinBridge, type ReceiveRowLike, type SendRowLike, type TokenRowLike } from "./omnichain.js";
import { orderKey } from "./model.js";

const A = 31337;
const B = 31338;
const C = 31339;
const ALICE = "0x00000000000000000000000000000000000a11ce";
const BOB = "0x0000000000000000000000000000000000000b0b";

const tokenRow = (chainId: number, state: string, at: bigint, owner = ALICE): TokenRowLike => ({
  chainId,
  contract: `0xc0${chainId}`,
  owner,
  state,
  updatedOrderKey: orderKey(at, chainId, at, 0),
  collection: "cosmic",
  tokenId: 1n,
});

const sendRow = (guid: string, from: number, to: number | null, at: bigint, recipient = BOB): SendRowLike => ({
  guid,
  chainId: from,
  dstChainId: to,
  dstEid: to ?? 0,
  recipient,
  fromAddress: ALICE,
  timestamp: at,
  txHash: `0x${guid}`,
  orderKey: orderKey(at, from, at, 1),
});

const delivered = (guid: string, on: number, at: bigint): ReceiveRowLike => ({
  guid,
  chainId: on,
  status: "DELIVERED",
  failureReason: null,
  deliveredTimestamp: at,
  failedTimestamp: null,
  deliveredTxHash: `0xd${guid}`,
});

const failed = (guid: string, on: number, at: bigint, reason: string): ReceiveRowLike => ({
  guid,
  chainId: on,
  status: "FAILED",
  failureReason: reason,
  deliveredTimestamp: null,
  failedTimestamp: at,
  deliveredTxHash: null,
});

describe("bridgeStatus", () => {
  it("is INFLIGHT while the destination has indexed nothing of the bridge", () => {
    expect(bridgeStatus(undefined)).toBe("INFLIGHT");
  });

  it("is the destination's status once it has a receive row", () => {
    expect(bridgeStatus(delivered("g", B, 10n))).toBe("DELIVERED");
    expect(bridgeStatus(failed("g", B, 10n, "NoPeer(1)"))).toBe("FAILED");
  });
});

describe("joinBridge", () => {
  it("joins both halves and measures the latency between the two chains' blocks", () => {
    const send = sendRow("g1", A, B, 100n);
    const receive = delivered("g1", B, 130n);
    expect(joinBridge(send, receive)).toEqual({ guid: "g1", status: "DELIVERED", send, receive, latencySeconds: 30 });
  });

  it("has no latency while in flight or after a failure", () => {
    expect(joinBridge(sendRow("g1", A, B, 100n), undefined)).toMatchObject({ status: "INFLIGHT", receive: null, latencySeconds: null });
    expect(joinBridge(sendRow("g1", A, B, 100n), failed("g1", B, 120n, "x"))).toMatchObject({ status: "FAILED", latencySeconds: null });
  });

  it("still answers with the guid when only the destination half is indexed (the source chain lags)", () => {
    expect(joinBridge(undefined, delivered("g2", B, 50n))).toEqual({
      guid: "g2",
      status: "DELIVERED",
      send: null,
      receive: delivered("g2", B, 50n),
      latencySeconds: null,
    });
  });
});

describe("deriveLocation", () => {
  it("is unknown for a token the index has never seen", () => {
    expect(deriveLocation([], [], [])).toEqual({ location: { status: "unknown" }, consistent: true, chains: [] });
  });

  it("is on the chain of its only present row, with that chain's contract and owner", () => {
    const rows = [tokenRow(A, "present", 10n)];
    expect(deriveLocation(rows, [], [])).toEqual({
      location: { status: "on_chain", chainId: A, contract: `0xc0${A}`, owner: ALICE, state: "present" },
      consistent: true,
      chains: rows,
    });
  });

  it("is gone when no chain holds it and no bridge is pending, naming every chain's state", () => {
    const rows = [tokenRow(A, "bridged_out", 10n), tokenRow(B, "burned", 20n)];
    expect(deriveLocation(rows, [sendRow("g1", A, B, 10n)], [delivered("g1", B, 15n)]).location).toEqual({
      status: "gone",
      detail: `${A}:bridged_out,${B}:burned`,
    });
  });

  it("is in flight between a send and its delivery, with the send's destination and recipient", () => {
    const result = deriveLocation([tokenRow(A, "bridged_out", 10n)], [sendRow("g1", A, B, 10n, BOB)], []);
    expect(result.location).toEqual({
      status: "in_flight",
      fromChainId: A,
      toChainId: B,
      guid: "g1",
      bridgeStatus: "INFLIGHT",
      failureReason: null,
      recipient: BOB,
    });
    expect(result.consistent).toBe(true);
  });

  it("stays in flight after a failed delivery and carries the failure reason", () => {
    const result = deriveLocation([tokenRow(A, "locked", 10n)], [sendRow("g1", A, B, 10n)], [failed("g1", B, 20n, "out of gas (or reverted without data)")]);
    expect(result.location).toMatchObject({ status: "in_flight", bridgeStatus: "FAILED", failureReason: "out of gas (or reverted without data)" });
  });

  it("keeps an unknown destination chain as null", () => {
    expect(deriveLocation([], [sendRow("g1", A, null, 10n)], []).location).toMatchObject({ status: "in_flight", toChainId: null });
  });

  it("is on the destination once the delivery is indexed there", () => {
    const rows = [tokenRow(A, "bridged_out", 10n), tokenRow(B, "present", 20n, BOB)];
    const result = deriveLocation(rows, [sendRow("g1", A, B, 10n)], [delivered("g1", B, 20n)]);
    expect(result.location).toEqual({ status: "on_chain", chainId: B, contract: `0xc0${B}`, owner: BOB, state: "present" });
    expect(result.consistent).toBe(true);
  });

  it("follows several hops to the last pending one", () => {
    const rows = [tokenRow(A, "bridged_out", 10n), tokenRow(B, "bridged_out", 30n)];
    const sends = [sendRow("g1", A, B, 10n), sendRow("g2", B, C, 30n)];
    const result = deriveLocation(rows, sends, [delivered("g1", B, 20n)]);
    expect(result.location).toMatchObject({ status: "in_flight", fromChainId: B, toChainId: C, guid: "g2" });
    expect(result.consistent).toBe(true);
  });

  it("after a round trip is back on the home chain", () => {
    const rows = [tokenRow(A, "present", 50n), tokenRow(B, "bridged_out", 30n)];
    const sends = [sendRow("g1", A, B, 10n), sendRow("g2", B, A, 30n)];
    const result = deriveLocation(rows, sends, [delivered("g1", B, 20n), delivered("g2", A, 50n)]);
    expect(result.location).toMatchObject({ status: "on_chain", chainId: A });
    expect(result.consistent).toBe(true);
  });

  it("when the chains disagree, prefers the latest fact and says the view is not consistent", () => {
    // The destination is indexed further than the source: a present row on B, newer than A's pending send.
    const present = deriveLocation([tokenRow(B, "present", 40n)], [sendRow("g1", A, B, 10n)], []);
    expect(present.location).toMatchObject({ status: "on_chain", chainId: B });
    expect(present.consistent).toBe(false);
    // A present row older than a pending send: the send is the latest fact.
    const pending = deriveLocation([tokenRow(C, "present", 5n)], [sendRow("g1", A, B, 10n)], []);
    expect(pending.location).toMatchObject({ status: "in_flight", guid: "g1" });
    expect(pending.consistent).toBe(false);
  });

  it("when two chains both hold it, names the more recently updated one", () => {
    const result = deriveLocation([tokenRow(B, "present", 30n), tokenRow(A, "present", 10n)], [], []);
    expect(result.location).toMatchObject({ status: "on_chain", chainId: B });
    expect(result.consistent).toBe(false);
  });

  it("returns every per-chain row it was given", () => {
    const rows = [tokenRow(A, "bridged_out", 10n), tokenRow(B, "present", 20n)];
    expect(deriveLocation(rows, [], []).chains).toBe(rows);
  });
});
