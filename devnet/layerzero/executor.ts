/**
 * The executor's off-chain worker, as on mainnet: once a committed packet is executable
 * (ReceiveUln302View.executable → Executable), its admin calls `Executor.execute302` with the
 * lzReceive gas (and value) the sender paid for in the packet's options. The Executor contract tries
 * `endpoint.lzReceive` with that gas and, when it reverts, calls `lzReceiveAlert` (LzReceiveAlert on
 * chain; an empty reason is an out-of-gas): the packet stays verified and anyone can retry it.
 */
import { type Address, type Hex, parseEventLogs } from "viem";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { ExecutorAbi } from "../../abis/ExecutorAbi.js";
import { ReceiveUln302ViewAbi } from "../../abis/ReceiveUln302ViewAbi.js";
import { lzReceiveBudget } from "../../chain/layerzero/options.js";
import type { ChainSigner } from "../../chain/signer.js";
import type { SentPacket } from "./packetFeed.js";
import { originOf, receiverOf } from "./packetState.js";

/** EndpointV2View's ExecutionState. */
export const ExecutionState = { NotExecutable: 0, VerifiedButNotExecutable: 1, Executable: 2, Executed: 3 } as const;

/** Gas around the inner call: the 1/64 the EVM keeps back, the alert path and the call itself. */
const EXECUTE_OVERHEAD_GAS = 250_000n;

export async function executionState(client: ChainSigner["publicClient"], view: Address, sent: SentPacket): Promise<number> {
  return await client.readContract({ address: view, abi: ReceiveUln302ViewAbi, functionName: "executable", args: [originOf(sent), receiverOf(sent)] });
}

export type Execution = { txHash: Hex; outcome: "delivered" } | { txHash: Hex; outcome: "failed"; reason: Hex; gas: bigint };

/**
 * Executes with the paid-for gas, or with `gasLimit` when given (the devnet's failure switch runs a
 * delivery out of gas this way). The transaction's own gas is set so the inner call gets all of it
 * (an estimate can come out lower than what lzReceive is given).
 */
export async function execute302(signer: ChainSigner, executor: Address, sent: SentPacket, gasLimit?: bigint): Promise<Execution> {
  const budget = lzReceiveBudget(sent.options);
  const gas = gasLimit ?? budget.gas;
  const receipt = await signer.write({
    label: `Executor.execute302(${sent.packet.guid.slice(0, 10)}…)`,
    address: executor,
    abi: ExecutorAbi,
    functionName: "execute302",
    args: [{ receiver: receiverOf(sent), origin: originOf(sent), guid: sent.packet.guid, message: sent.packet.message, extraData: "0x", gasLimit: gas }],
    value: budget.value,
    gas: (gas * 64n) / 63n + EXECUTE_OVERHEAD_GAS,
  });
  const events = parseEventLogs({ abi: EndpointV2Abi, logs: receipt.logs });
  const alert = events.find((e) => e.eventName === "LzReceiveAlert");
  if (alert && alert.eventName === "LzReceiveAlert")
    return { txHash: receipt.transactionHash, outcome: "failed", reason: alert.args.reason, gas: alert.args.gas };
  if (!events.some((e) => e.eventName === "PacketDelivered"))
    throw new Error(`execute302 mined without PacketDelivered or LzReceiveAlert (tx ${receipt.transactionHash})`);
  return { txHash: receipt.transactionHash, outcome: "delivered" };
}
