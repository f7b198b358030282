/**
 * The commit step, which anyone may take on mainnet: once ReceiveUln302View says the packet's DVN
 * attestations meet the pathway's config (`verifiable` → Verifiable), call
 * `ReceiveUln302.commitVerification(header, payloadHash)`: the endpoint then holds the payload hash
 * (PacketVerified) and ReceiveUln302 deletes the per-DVN entries.
 */
import type { Address, Hex } from "viem";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import { ReceiveUln302ViewAbi } from "../../abis/ReceiveUln302ViewAbi.js";
import type { ChainSigner } from "../../chain/signer.js";
import type { SentPacket } from "./packetFeed.js";
import { packetHeader, payloadHash } from "./packetState.js";

/** ReceiveUln302View's VerificationState. */
export const VerificationState = { Verifying: 0, Verifiable: 1, Verified: 2, NotInitializable: 3 } as const;

export async function verificationState(client: ChainSigner["publicClient"], view: Address, sent: SentPacket): Promise<number> {
  return await client.readContract({ address: view, abi: ReceiveUln302ViewAbi, functionName: "verifiable", args: [packetHeader(sent), payloadHash(sent)] });
}

export async function commitVerification(signer: ChainSigner, receiveUln302: Address, sent: SentPacket): Promise<Hex> {
  const receipt = await signer.write({
    label: `ReceiveUln302.commitVerification(${sent.packet.guid.slice(0, 10)}…)`,
    address: receiveUln302,
    abi: ReceiveUln302Abi,
    functionName: "commitVerification",
    args: [packetHeader(sent), payloadHash(sent)],
  });
  return receipt.transactionHash;
}
