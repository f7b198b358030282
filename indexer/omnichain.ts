/**
 * The omnichain view of a token, derived at read time from rows that each belong to one chain:
 * its `token` rows (one per chain it has been on), the `bridge_send` rows of its bridges and their
 * `bridge_receive` halves. Pure: used by the API (src/api) and by reconcile.
 */
export type TokenRowLike = { chainId: number; contract: string; owner: string; state: string; updatedOrderKey: string; collection: string; tokenId: bigint };
export type SendRowLike = {
  guid: string;
  chainId: number;
  dstChainId: number | null;
  dstEid: number;
  recipient: string;
  fromAddress: string;
  timestamp: bigint;
  txHash: string;
  orderKey: string;
};
export type ReceiveRowLike = {
  guid: string;
  chainId: number;
  status: string;
  failureReason: string | null;
  deliveredTimestamp: bigint | null;
  failedTimestamp: bigint | null;
  deliveredTxHash: string | null;
};

/** What the index alone knows of a bridge (the steps in between are read from the chains: docs/bridge.md). */
export type IndexedBridgeStatus = "INFLIGHT" | "DELIVERED" | "FAILED";

export type Location =
  | { status: "on_chain"; chainId: number; contract: string; owner: string; state: string }
  | {
      status: "in_flight";
      fromChainId: number;
      toChainId: number | null;
      guid: string;
      bridgeStatus: IndexedBridgeStatus;
      failureReason: string | null;
      recipient: string;
    }
  | { status: "gone"; detail: string }
  | { status: "unknown" };

export type OmnichainToken = {
  location: Location;
  /** false when the per-chain rows disagree (e.g. one chain indexed further than another). */
  consistent: boolean;
  chains: TokenRowLike[];
};

export function bridgeStatus(receive: ReceiveRowLike | undefined): IndexedBridgeStatus {
  if (!receive) return "INFLIGHT";
  return receive.status as IndexedBridgeStatus;
}

/** Joined view of one bridge (send half + receive half). */
export function joinBridge(send: SendRowLike | undefined, receive: ReceiveRowLike | undefined) {
  const status: IndexedBridgeStatus = bridgeStatus(receive);
  return {
    guid: send?.guid ?? receive?.guid,
    status,
    send: send ?? null,
    receive: receive ?? null,
    /** Seconds from the source block to the delivering block (block timestamps of two chains). */
    latencySeconds: send && receive?.deliveredTimestamp != null ? Number(receive.deliveredTimestamp - send.timestamp) : null,
  };
}

export function deriveLocation(rows: TokenRowLike[], sends: SendRowLike[], receives: ReceiveRowLike[]): OmnichainToken {
  const delivered = new Set(receives.filter((r) => r.status === "DELIVERED").map((r) => r.guid));
  const receiveByGuid = new Map(receives.map((r) => [r.guid, r]));
  const pending = sends.filter((s) => !delivered.has(s.guid)).sort((a, b) => a.orderKey.localeCompare(b.orderKey));
  const present = rows.filter((r) => r.state === "present").sort((a, b) => a.updatedOrderKey.localeCompare(b.updatedOrderKey));
  const consistent = present.length + pending.length === 1;
  if (present.length === 0 && pending.length === 0) {
    if (rows.length === 0) return { location: { status: "unknown" }, consistent: true, chains: rows };
    return { location: { status: "gone", detail: rows.map((r) => `${r.chainId}:${r.state}`).join(",") }, consistent: true, chains: rows };
  }
  // Prefer the latest fact: a present row updated after the last pending send wins, and vice versa.
  const latestPresent = present.at(-1);
  const latestPending = pending.at(-1);
  if (latestPresent && (!latestPending || latestPresent.updatedOrderKey > latestPending.orderKey)) {
    return {
      location: {
        status: "on_chain",
        chainId: latestPresent.chainId,
        contract: latestPresent.contract,
        owner: latestPresent.owner,
        state: latestPresent.state,
      },
      consistent,
      chains: rows,
    };
  }
  const send = latestPending!;
  const receive = receiveByGuid.get(send.guid);
  return {
    location: {
      status: "in_flight",
      fromChainId: send.chainId,
      toChainId: send.dstChainId,
      guid: send.guid,
      bridgeStatus: bridgeStatus(receive),
      failureReason: receive?.failureReason ?? null,
      recipient: send.recipient,
    },
    consistent,
    chains: rows,
  };
}
