/**
 * A bridge's progress between its send and its delivery, as the destination chain shows it: source
 * confirmations, each DVN's attestation, the commit. None of it can be indexed by our address
 * (endpoint and library events carry no indexed field), so the bridge tracker (tracker.ts) reads it
 * from the chains for bridges in flight and stores it here (offchain.bridge_progress); every reader
 * (REST, GraphQL, the notifier's pushes, the NFT view) takes it from this table, never from an RPC.
 */
import type { Address, Hex } from "viem";
import type { FeesPaidJson } from "../../chain/layerzero/feesPaid.js";

export type StepOnChain = { txHash: Hex; blockNumber: number; at: string | null };

export type DvnProgress = {
  /** The DVN's contract on the destination chain. */
  address: Address;
  required: boolean;
  verified: boolean;
  /** The confirmations it attested (ReceiveUln302.hashLookup, or its PayloadVerified). */
  confirmations: number | null;
  /** Its PayloadVerified, when found. */
  step: StepOnChain | null;
};

export type BridgeProgress = {
  guid: Hex;
  srcChainId: number;
  dstChainId: number;
  /** The send's block on the source chain. */
  sendBlock: number;
  /** Blocks of the source chain from the send's block on (the send's block counts as 1). */
  sourceConfirmations: number;
  /** What the destination's ULN config requires of the DVNs. */
  requiredConfirmations: number;
  requiredDvnCount: number;
  optionalDvnThreshold: number;
  dvns: DvnProgress[];
  /** The endpoint holds the payload hash (PacketVerified), with its transaction once found. */
  committed: { payloadHash: Hex; step: StepOnChain | null } | null;
  /** The endpoint no longer holds it and its lazy nonce passed the packet: delivered on chain. */
  clearedOnChain: boolean;
  /** What the send paid its workers (SendUln302's fee events in the send's receipt), read once. */
  paid?: FeesPaidJson | null;
  /** The destination block this was read at. */
  observedBlock: number;
  observedAt: string;
};

export const verifiedDvns = (p: Pick<BridgeProgress, "dvns">) => p.dvns.filter((d) => d.verified);

/** Whether the attestations meet the ULN config (all required DVNs, and the optional threshold). */
export function dvnRequirementMet(p: Pick<BridgeProgress, "dvns" | "optionalDvnThreshold">): boolean {
  const required = p.dvns.filter((d) => d.required);
  const optional = p.dvns.filter((d) => !d.required);
  return required.every((d) => d.verified) && optional.filter((d) => d.verified).length >= p.optionalDvnThreshold;
}

/** The DVNs whose attestation the bridge still waits for. */
export function missingDvns(p: Pick<BridgeProgress, "dvns" | "optionalDvnThreshold">): Address[] {
  const missing = p.dvns.filter((d) => d.required && !d.verified).map((d) => d.address);
  const optional = p.dvns.filter((d) => !d.required);
  if (optional.filter((d) => d.verified).length < p.optionalDvnThreshold) missing.push(...optional.filter((d) => !d.verified).map((d) => d.address));
  return missing;
}
