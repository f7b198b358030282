/**
 * Where a LayerZero fee goes, from each worker's public quote: the executor's `getFee`, each DVN's
 * `getFee` (required then optional, in the library's order), and the treasury's `getFee` on their
 * total — the same calls with the same inputs SendUln302 makes in `quote` (it splits the options by
 * worker, executor options first; DVN options per DVN index). `quoteSend` stays the authority on
 * the total; the breakdown says whether it adds up to it.
 */
import { type Address, type Hex, concatHex, zeroAddress } from "viem";
import { DVNAbi } from "../../abis/DVNAbi.js";
import { ExecutorAbi } from "../../abis/ExecutorAbi.js";
import { SendUln302Abi } from "../../abis/SendUln302Abi.js";
import { TreasuryAbi } from "../../abis/TreasuryAbi.js";
import type { ReadClient } from "../readClient.js";
import { pathwayErrorOf } from "./errors.js";
import { DVN_WORKER_ID, optionEntries, splitOptions } from "./options.js";
import type { SendPathway } from "./pathway.js";

/** ONFT721MsgCodec: `sendTo b32 | tokenId u256` for a send without compose message. */
export const ONFT_MESSAGE_SIZE = 64;

export type FeeBreakdown = {
  executor: { address: Address; fee: bigint };
  dvns: { address: Address; required: boolean; fee: bigint }[];
  treasury: { address: Address | null; fee: bigint };
  total: bigint;
};

/** The DVN options of DVN `index` (its entries, as DVNOptions.groupDVNOptionsByIdx slices them). */
function dvnOptionsFor(dvnOptions: Hex, index: number): Hex {
  if (dvnOptions === "0x") return "0x";
  const mine = optionEntries(concatHex(["0x0003", dvnOptions])).filter((e) => e.workerId === DVN_WORKER_ID && e.optionType === index);
  if (!mine.length) return "0x";
  return concatHex(
    mine.map((e) =>
      concatHex(["0x02", `0x${((e.option.length - 2) / 2 + 1).toString(16).padStart(4, "0")}`, `0x${index.toString(16).padStart(2, "0")}`, e.option]),
    ),
  );
}

export async function quoteBreakdown(
  client: ReadClient,
  args: { pathway: SendPathway; oapp: Address; options: Hex; messageSize?: number },
): Promise<FeeBreakdown> {
  const { pathway, oapp } = args;
  const { executor: executorOptions, dvn: dvnOptions } = splitOptions(args.options);
  const dvns = [
    ...pathway.uln.requiredDVNs.map((a) => ({ address: a, required: true })),
    ...pathway.uln.optionalDVNs.map((a) => ({ address: a, required: false })),
  ];
  try {
    const [executorFee, dvnFees, treasury] = await Promise.all([
      client.readContract({
        address: pathway.executor.executor,
        abi: ExecutorAbi,
        functionName: "getFee",
        args: [pathway.dstEid, oapp, BigInt(args.messageSize ?? ONFT_MESSAGE_SIZE), executorOptions],
      }),
      Promise.all(
        dvns.map((d, i) =>
          client.readContract({
            address: d.address,
            abi: DVNAbi,
            functionName: "getFee",
            args: [pathway.dstEid, pathway.uln.confirmations, oapp, dvnOptionsFor(dvnOptions, i)],
          }),
        ),
      ),
      client.readContract({ address: pathway.sendLibrary.address, abi: SendUln302Abi, functionName: "treasury" }),
    ]);
    const workers = executorFee + dvnFees.reduce((a, b) => a + b, 0n);
    const treasuryFee =
      treasury === zeroAddress
        ? 0n
        : await client.readContract({ address: treasury, abi: TreasuryAbi, functionName: "getFee", args: [oapp, pathway.dstEid, workers, false] });
    return {
      executor: { address: pathway.executor.executor, fee: executorFee },
      dvns: dvns.map((d, i) => ({ ...d, fee: dvnFees[i]! })),
      treasury: { address: treasury === zeroAddress ? null : treasury, fee: treasuryFee },
      total: workers + treasuryFee,
    };
  } catch (error) {
    throw pathwayErrorOf(error, "a worker's fee quote") ?? error;
  }
}
