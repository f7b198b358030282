/**
 * One DVN operator's off-chain worker, as DVNs run on mainnet: for a packet whose destination ULN
 * config names this DVN, wait for the pathway's source confirmations, then have the DVN contract
 * verify it — its admin sends `DVN.execute([{vid, target: ReceiveUln302, callData:
 * verify(header, payloadHash, confirmations), expiration, signatures}])` with `quorum` EIP-191
 * signatures of its signers over keccak256(vid, target, expiration, callData), in ascending signer
 * order. `DVN.execute` does not revert on a bad instruction (it emits VerifySignaturesFailed,
 * HashAlreadyUsed or ExecuteFailed), so success is read from the receipt: ReceiveUln302's
 * `PayloadVerified` from this DVN.
 */
import { type Address, type Hex, encodeFunctionData, encodePacked, keccak256, parseEventLogs } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { DVNAbi } from "../../abis/DVNAbi.js";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import type { ChainSigner } from "../../chain/signer.js";
import type { DvnDeployment } from "../../chain/deployments.js";
import type { SentPacket } from "./packetFeed.js";
import { packetHeader, payloadHash, receiverOf } from "./packetState.js";
import { CosmicError } from "../../infra/errors.js";

export type UlnConfig = { confirmations: bigint; requiredDVNs: readonly Address[]; optionalDVNs: readonly Address[]; optionalDVNThreshold: number };

/** Seconds a signed instruction stays valid (DVN.execute skips expired ones). */
const EXPIRATION_SECONDS = 600n;

export class DvnExecuteFailedError extends CosmicError {
  override name = "DvnExecuteFailedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", "DVN_EXECUTE_FAILED", message, options);
  }
}

export async function receiveUlnConfig(client: ChainSigner["publicClient"], receiveUln302: Address, sent: SentPacket): Promise<UlnConfig> {
  return await client.readContract({
    address: receiveUln302,
    abi: ReceiveUln302Abi,
    functionName: "getUlnConfig",
    args: [receiverOf(sent), sent.packet.srcEid],
  });
}

/** Whether this DVN (its contract on the destination) has attested the packet (before the commit deletes it). */
export async function hasVerified(client: ChainSigner["publicClient"], receiveUln302: Address, dvn: Address, sent: SentPacket): Promise<boolean> {
  const [submitted] = await client.readContract({
    address: receiveUln302,
    abi: ReceiveUln302Abi,
    functionName: "hashLookup",
    args: [keccak256(packetHeader(sent)), payloadHash(sent), dvn],
  });
  return submitted;
}

/** Signs and sends the verification; resolves with the transaction hash once PayloadVerified is seen. */
export async function verifyAsDvn(args: {
  admin: ChainSigner;
  dvn: DvnDeployment;
  signers: PrivateKeyAccount[];
  receiveUln302: Address;
  sent: SentPacket;
  confirmations: bigint;
}): Promise<Hex> {
  const { admin, dvn, sent, receiveUln302 } = args;
  const callData = encodeFunctionData({ abi: ReceiveUln302Abi, functionName: "verify", args: [packetHeader(sent), payloadHash(sent), args.confirmations] });
  // The destination's own clock decides expiry (anvil chains each keep their own).
  const now = (await admin.publicClient.getBlock({ blockTag: "latest" })).timestamp;
  const expiration = now + EXPIRATION_SECONDS;
  const hash = keccak256(encodePacked(["uint32", "address", "uint256", "bytes"], [dvn.vid, receiveUln302, expiration, callData]));
  const ordered = [...args.signers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1)).slice(0, dvn.quorum);
  const signatures = (await Promise.all(ordered.map((s) => s.signMessage({ message: { raw: hash } })))) as Hex[];
  const receipt = await admin.write({
    label: `${dvn.name}.execute(verify ${sent.packet.guid.slice(0, 10)}…)`,
    address: dvn.address,
    abi: DVNAbi,
    functionName: "execute",
    args: [[{ vid: dvn.vid, target: receiveUln302, callData, expiration, signatures: `0x${signatures.map((s) => s.slice(2)).join("")}` }]],
  });
  const verified = parseEventLogs({ abi: ReceiveUln302Abi, eventName: "PayloadVerified", logs: receipt.logs }).some(
    (l) => l.args.dvn.toLowerCase() === dvn.address.toLowerCase(),
  );
  if (verified) return receipt.transactionHash;
  const failures = parseEventLogs({ abi: DVNAbi, logs: receipt.logs }).map((l) => l.eventName);
  throw new DvnExecuteFailedError(
    `${dvn.name}: DVN.execute mined without PayloadVerified (${failures.join(", ") || "no DVN event"}) in tx ${receipt.transactionHash}`,
  );
}
