/**
 * LayerZero V2 message options (type 3): the bytes an OApp passes with `send` and the executor and
 * DVNs read. Layout: `0x0003` then entries `workerId u8 | size u16 | optionType u8 | option`, where
 * size = 1 + option length; executor entries have worker id 1, DVN entries worker id 2.
 *
 * Hand-written on purpose: LayerZero's encoder (`Options` of @layerzerolabs/lz-v2-utilities) pulls
 * ethers v5 into a viem code base for four byte layouts. This codec mirrors the contracts
 * (OAppOptionsType3.combineOptions, UlnOptions.decode, ExecutorOptions) and is tested against them
 * on the devnet (test/bridge/fees.test.ts) as well as on its own (test/chain/lz-options.test.ts).
 */
import { type Hex, concatHex, hexToBigInt, numberToHex, size, sliceHex } from "viem";
import { CosmicError } from "../../infra/errors.js";

export const OPTIONS_TYPE_3 = 3;
export const EXECUTOR_WORKER_ID = 1;
export const DVN_WORKER_ID = 2;
export const OPTION_TYPE_LZRECEIVE = 1;
export const OPTION_TYPE_NATIVE_DROP = 2;
export const OPTION_TYPE_LZCOMPOSE = 3;

/** ONFT721Core's message type of a plain send (no compose). */
export const ONFT_SEND = 1;

export class InvalidOptionsError extends CosmicError {
  override name = "InvalidOptionsError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid", "INVALID_OPTIONS", message, options);
  }
}

const u16 = (n: number) => numberToHex(n, { size: 2 });
const u128 = (n: bigint) => numberToHex(n, { size: 16 });

/** Type-3 options asking the executor for `gas` (and `value` wei) in lzReceive on the destination. */
export function lzReceiveOptions(gas: bigint, value = 0n): Hex {
  if (gas <= 0n) throw new InvalidOptionsError("lzReceive gas must be positive");
  const option = value > 0n ? concatHex([u128(gas), u128(value)]) : u128(gas);
  return concatHex([
    u16(OPTIONS_TYPE_3),
    numberToHex(EXECUTOR_WORKER_ID, { size: 1 }),
    u16(size(option) + 1),
    numberToHex(OPTION_TYPE_LZRECEIVE, { size: 1 }),
    option,
  ]);
}

/** What OAppOptionsType3.combineOptions returns for the enforced options and the caller's. */
export function combineOptions(enforced: Hex, extra: Hex): Hex {
  if (size(enforced) === 0) return extra;
  if (size(extra) === 0) return enforced;
  if (size(extra) < 2 || Number(hexToBigInt(sliceHex(extra, 0, 2))) !== OPTIONS_TYPE_3)
    throw new InvalidOptionsError("extra options must be type 3 to combine with enforced options");
  return concatHex([enforced, sliceHex(extra, 2)]);
}

/** One entry; for DVN entries (worker 2) `optionType` is the DVN index and `option` starts with the type. */
export type WorkerEntry = { workerId: number; optionType: number; option: Hex };

/** The entries of type-3 options (UlnOptions.decode's walk, with the same refusals). */
export function optionEntries(options: Hex): WorkerEntry[] {
  const length = size(options);
  if (length < 2) throw new InvalidOptionsError("options shorter than their 2-byte type (LZ_ULN_InvalidWorkerOptions(0))");
  const type = Number(hexToBigInt(sliceHex(options, 0, 2)));
  if (type !== OPTIONS_TYPE_3) throw new InvalidOptionsError(`options type ${type} is not supported here (type 3 only)`);
  const entries: WorkerEntry[] = [];
  let cursor = 2;
  while (cursor < length) {
    if (cursor + 3 > length) throw new InvalidOptionsError(`truncated option at byte ${cursor}`);
    const workerId = Number(hexToBigInt(sliceHex(options, cursor, cursor + 1)));
    if (workerId === 0) throw new InvalidOptionsError("worker id 0 (LZ_ULN_InvalidWorkerId(0))");
    const entrySize = Number(hexToBigInt(sliceHex(options, cursor + 1, cursor + 3)));
    if (entrySize === 0 || cursor + 3 + entrySize > length) throw new InvalidOptionsError(`invalid option size at byte ${cursor + 1}`);
    const optionType = Number(hexToBigInt(sliceHex(options, cursor + 3, cursor + 4)));
    const option = entrySize > 1 ? sliceHex(options, cursor + 4, cursor + 3 + entrySize) : "0x";
    entries.push({ workerId, optionType, option });
    cursor += 3 + entrySize;
  }
  return entries;
}

const encodeEntry = (e: WorkerEntry): Hex =>
  concatHex([numberToHex(e.workerId, { size: 1 }), u16(size(e.option) + 1), numberToHex(e.optionType, { size: 1 }), e.option]);

/**
 * The split SendUln302 makes before paying its workers: the executor's entries (what it passes to
 * `Executor.getFee` / `assignJob`) and the DVNs' entries, each re-encoded without the type prefix.
 */
export function splitOptions(options: Hex): { executor: Hex; dvn: Hex } {
  const entries = optionEntries(options);
  for (const e of entries)
    if (e.workerId !== EXECUTOR_WORKER_ID && e.workerId !== DVN_WORKER_ID) throw new InvalidOptionsError(`unknown worker id ${e.workerId}`);
  const pick = (id: number) => {
    const mine = entries.filter((e) => e.workerId === id);
    return mine.length ? concatHex(mine.map(encodeEntry)) : "0x";
  };
  return { executor: pick(EXECUTOR_WORKER_ID), dvn: pick(DVN_WORKER_ID) };
}

/** Gas and value the sender paid the executor for in lzReceive (the sums of its lzReceive options). */
export function lzReceiveBudget(options: Hex): { gas: bigint; value: bigint } {
  let gas = 0n;
  let value = 0n;
  for (const e of optionEntries(options)) {
    if (e.workerId !== EXECUTOR_WORKER_ID || e.optionType !== OPTION_TYPE_LZRECEIVE) continue;
    const n = size(e.option);
    if (n !== 16 && n !== 32) throw new InvalidOptionsError("lzReceive option must carry 16 or 32 bytes (Executor_InvalidLzReceiveOption)");
    gas += hexToBigInt(sliceHex(e.option, 0, 16));
    if (n === 32) value += hexToBigInt(sliceHex(e.option, 16, 32));
  }
  return { gas, value };
}
