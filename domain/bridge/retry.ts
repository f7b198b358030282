/**
 * Recovery of a bridge that is verified but not delivered (FAILED, or stuck waiting for the
 * executor): on EVM anyone may deliver a verified packet, so the sender, the recipient or an admin
 * gets the unsigned transaction(s) that do it, read from the destination chain now:
 *   - committed on the endpoint → `EndpointV2.lzReceive(origin, receiver, guid, message, "0x")`;
 *   - verified by the DVNs but not committed → `ReceiveUln302.commitVerification(header, payloadHash)`
 *     first, then the lzReceive;
 * with a gas limit above the lzReceive gas that failed (the alert's) and above the estimate.
 * Nothing to retry (not verified yet, already delivered) → 409; a delivery that would still revert → 409.
 */
import { type Address, type Hex, encodeFunctionData, keccak256, pad, zeroHash } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ReceiveUln302Abi } from "../../abis/ReceiveUln302Abi.js";
import { layerZeroRevert } from "../../chain/layerzero/errors.js";
import { readReceivePathway } from "../../chain/layerzero/pathway.js";
import { packetHeader, payloadHashOf } from "./readProgress.js";
import { chainById, publicClientFor, requireNetwork } from "../chains/clients.js";
import type { RequestDeps } from "../deps.js";
import type { Principal } from "../auth/principal.js";
import { ServiceError, conflict, dependencyDown, forbidden, notFound } from "../../infra/errors.js";
import type { ReceiveRow, SendRow } from "../../read/tokens.js";

/** Headroom over the estimate, and over the gas that ran out. */
const ESTIMATE_MARGIN = 13n;
const GAS_OVERHEAD = 100_000n;

export type RetryTransaction = { to: Address; data: Hex; value: string; chainId: number; gas: string };

export async function retryBridge(
  deps: RequestDeps,
  principal: Principal,
  send: SendRow | undefined,
  receive: ReceiveRow | undefined,
  operationId: string | null,
) {
  if (!send) throw conflict("NOT_SENT", "this bridge has no indexed send yet: nothing to retry");
  const isParty = principal.kind === "user" && [send.fromAddress, send.recipient].some((a) => a.toLowerCase() === principal.address.toLowerCase());
  if (!isParty && !principal.roles.includes("admin")) throw forbidden("NOT_BRIDGE_PARTY", "only the bridge's sender, its recipient or an admin may retry it");
  if (receive?.status === "DELIVERED") throw conflict("ALREADY_DELIVERED", "this bridge is delivered");
  if (send.dstChainId === null) throw conflict("UNKNOWN_DESTINATION", "the destination chain is not one of this server's chains");

  const network = requireNetwork(deps);
  const dst = chainById(network, send.dstChainId, "destination chain");
  const client = publicClientFor(deps, dst.chainId);
  const b = { guid: send.guid, nonce: send.nonce, srcEid: send.srcEid, dstEid: send.dstEid, sender: send.oapp, receiver: send.dstOapp, message: send.message };
  const origin = { srcEid: send.srcEid, sender: pad(send.oapp, { size: 32 }), nonce: send.nonce };
  const expected = payloadHashOf(b);
  try {
    const [stored, lazy, pathway] = await Promise.all([
      client.readContract({
        address: dst.endpoint,
        abi: EndpointV2Abi,
        functionName: "inboundPayloadHash",
        args: [send.dstOapp, send.srcEid, origin.sender, send.nonce],
      }),
      client.readContract({ address: dst.endpoint, abi: EndpointV2Abi, functionName: "lazyInboundNonce", args: [send.dstOapp, send.srcEid, origin.sender] }),
      readReceivePathway(client, { endpoint: dst.endpoint, oapp: send.dstOapp, srcEid: send.srcEid }),
    ]);
    if (stored === zeroHash && lazy >= send.nonce)
      throw conflict("ALREADY_DELIVERED", "the destination endpoint already delivered this packet (the index will show it shortly)");
    const transactions: RetryTransaction[] = [];
    let action: "execute" | "commit_and_execute" = "execute";
    if (stored !== expected) {
      if (stored !== zeroHash) throw conflict("PAYLOAD_MISMATCH", "the destination holds another payload for this nonce");
      const verifiable = await client.readContract({
        address: pathway.receiveLibrary.address,
        abi: ReceiveUln302Abi,
        functionName: "verifiable",
        args: [
          { ...pathway.uln, requiredDVNCount: pathway.uln.requiredDVNs.length, optionalDVNCount: pathway.uln.optionalDVNs.length },
          keccak256(packetHeader(b)),
          expected,
        ],
      });
      if (!verifiable) throw conflict("NOT_VERIFIED", "the DVNs have not verified this packet yet: nothing to retry (wait, or see the bridge's stuck reason)");
      action = "commit_and_execute";
      const commit = encodeFunctionData({ abi: ReceiveUln302Abi, functionName: "commitVerification", args: [packetHeader(b), expected] });
      // The commit also checks that the receiver accepts the path (its peer): refuse what would revert.
      let commitGas: bigint;
      try {
        commitGas = await client.estimateGas({
          to: pathway.receiveLibrary.address,
          data: commit,
          account: principal.kind === "user" ? principal.address : undefined,
        });
      } catch (error) {
        const revert = layerZeroRevert(error);
        if (!revert) throw error;
        throw conflict("COMMIT_REVERTS", `committing it now would revert: ${revert.errorName}(${revert.args.map(String).join(", ")})`);
      }
      transactions.push({
        to: pathway.receiveLibrary.address,
        data: commit,
        value: "0",
        chainId: dst.chainId,
        gas: ((commitGas * ESTIMATE_MARGIN) / 10n).toString(),
      });
    }
    const data = encodeFunctionData({ abi: EndpointV2Abi, functionName: "lzReceive", args: [origin, send.dstOapp, send.guid, send.message, "0x"] });
    const failedGas = receive?.failureGas ? BigInt(receive.failureGas) : 0n;
    let estimate = 0n;
    if (action === "execute") {
      try {
        estimate = await client.estimateGas({ to: dst.endpoint, data, account: principal.kind === "user" ? principal.address : undefined });
      } catch (error) {
        const revert = layerZeroRevert(error);
        if (!revert) throw error;
        throw conflict("DELIVERY_REVERTS", `delivering it now would revert: ${revert.errorName}(${revert.args.map(String).join(", ")})`);
      }
    }
    const gas = [(estimate * ESTIMATE_MARGIN) / 10n, failedGas * 2n + GAS_OVERHEAD, 300_000n].reduce((a, x) => (x > a ? x : a), 0n);
    transactions.push({ to: dst.endpoint, data, value: "0", chainId: dst.chainId, gas: gas.toString() });
    return { operationId, guid: send.guid, action, failedGas: failedGas ? failedGas.toString() : null, transactions };
  } catch (error) {
    if (error instanceof ServiceError) throw error;
    throw dependencyDown("CHAIN_UNAVAILABLE", `chain ${dst.chainId} RPC did not answer`, error);
  }
}

export const bridgeNotFound = () => notFound("BRIDGE_NOT_FOUND", "no bridge with that operation id, guid or tx hash");
