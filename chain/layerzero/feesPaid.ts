/**
 * What a send actually paid its workers, from the send transaction's receipt: SendUln302 emits
 * `ExecutorFeePaid(executor, fee)` and `DVNFeePaid(requiredDVNs, optionalDVNs, fees)` just before
 * the endpoint's `PacketSent` (none of them carries the guid: they are linked through the
 * transaction and the PacketSent's `sendLibrary`). The treasury's share is not emitted.
 */
import { type Address, type Hex, type Log, getAddress, parseEventLogs } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { SendUln302Abi } from "../../abis/SendUln302Abi.js";
import { decodePacket } from "./lzPacket.js";

export type FeesPaid = {
  sendLibrary: Address;
  executor: { address: Address; fee: bigint } | null;
  dvns: { address: Address; required: boolean; fee: bigint }[];
  /** Executor + DVNs (the treasury's share is not in the logs). */
  workers: bigint;
};

export function feesPaidInReceipt(logs: readonly Log[], guid: Hex): FeesPaid | null {
  const sent = parseEventLogs({ abi: EndpointV2Abi, eventName: "PacketSent", logs: logs as Log[] }).find((l) => {
    try {
      return decodePacket(l.args.encodedPayload).guid.toLowerCase() === guid.toLowerCase();
    } catch {
      return false;
    }
  });
  if (!sent) return null;
  const library = getAddress(sent.args.sendLibrary);
  const before = (l: { address: Address; logIndex: number | null }) => getAddress(l.address) === library && (l.logIndex ?? 0) < (sent.logIndex ?? 0);
  const lib = parseEventLogs({ abi: SendUln302Abi, logs: logs as Log[] }).filter(before);
  const executorPaid = lib.filter((l) => l.eventName === "ExecutorFeePaid").at(-1);
  const dvnPaid = lib.filter((l) => l.eventName === "DVNFeePaid").at(-1);
  const executor = executorPaid?.eventName === "ExecutorFeePaid" ? { address: getAddress(executorPaid.args.executor), fee: executorPaid.args.fee } : null;
  const dvns =
    dvnPaid?.eventName === "DVNFeePaid"
      ? [
          ...dvnPaid.args.requiredDVNs.map((a) => ({ address: getAddress(a), required: true })),
          ...dvnPaid.args.optionalDVNs.map((a) => ({ address: getAddress(a), required: false })),
        ].map((d, i) => ({ ...d, fee: dvnPaid.args.fees[i] ?? 0n }))
      : [];
  return { sendLibrary: library, executor, dvns, workers: (executor?.fee ?? 0n) + dvns.reduce((a, d) => a + d.fee, 0n) };
}

/** FeesPaid as JSON (wei as decimal strings), as the API shows and the tracker stores it. */
export type FeesPaidJson = {
  sendLibrary: string;
  executor: { address: string; fee: string } | null;
  dvns: { address: string; required: boolean; fee: string }[];
  workers: string;
};

export const feesPaidToJson = (f: FeesPaid): FeesPaidJson => ({
  sendLibrary: f.sendLibrary,
  executor: f.executor && { address: f.executor.address, fee: f.executor.fee.toString() },
  dvns: f.dvns.map((d) => ({ address: d.address, required: d.required, fee: d.fee.toString() })),
  workers: f.workers.toString(),
});
