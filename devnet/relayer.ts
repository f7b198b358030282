/**
 * The devnet LayerZero relayer: the one piece no library provides here. LayerZero's DVNs and
 * executors only serve real networks, and its `TestHelperOz5` only works inside one EVM (forge
 * tests), so across our anvil processes this module plays both roles:
 *
 *   1. watch `PacketSent` on every devnet EndpointV2 (getLogs polling from a remembered block per
 *      chain; a new relayer starts from each chain's deployment `startBlock`, so it is restart-safe);
 *   2. on the destination, as the DVN: `SimpleMessageLib.validatePacket(encodedPayload)` →
 *      `EndpointV2.verify` → `PacketVerified`;
 *   3. as the executor: `EndpointV2.lzReceive(origin, receiver, guid, message, "0x")` →
 *      `Transfer` (mint/unlock), `ONFTReceived`, `PacketDelivered`.
 *
 * What it does for each packet is decided from chain state, never from its own memory, so stopping
 * it anywhere and starting another one delivers every packet exactly once:
 *   - `inboundPayloadHash == 0` and `lazyInboundNonce >= nonce`  → already delivered, skip;
 *   - `inboundPayloadHash == keccak256(guid ++ message)`          → verified, deliver;
 *   - `inboundPayloadHash == 0` and `lazyInboundNonce < nonce`   → verify, then deliver.
 * Packets of one path (srcEid, sender, dstEid, receiver) are handled in nonce order.
 *
 * A delivery that would revert (simulated first), or that the `shouldFail` switch marks, is reported
 * the way a real executor does: `EndpointV2.lzReceiveAlert(...)` emits `LzReceiveAlert` with the
 * revert data as reason, and the packet stays verified (retryable), as on a real network. A packet
 * that is verified but already has an `LzReceiveAlert` on chain counts as failed and is not retried
 * by a restarted relayer either.
 *
 * `idle()` is honest: it resolves only once every chain has been polled successfully by a poll that
 * started after the call (so it covered every block that existed then) and every packet seen by then
 * is delivered or failed. A failed poll (RPC error) is logged with its cause and does not count.
 * The head comes from a raw `eth_blockNumber`: viem's `getBlockNumber` answers from a cache for the
 * client's polling interval (and joins a request already in flight), so a poll right after a send
 * could see the head from before it, and `idle()` resolved one cycle early (~1 call in 3 measured).
 *
 * A chain that is rewound (`evm_revert`, `anvil_reorg`) is detected by the hash of the last polled
 * block: the relayer rescans it from its start block and forgets pending packets of the dropped
 * branch (the ones still on chain are found again).
 *
 * Every transaction goes through chain/signer.ts (one signer per chain, nonce-managed).
 */
import {
  type Address,
  type Hex,
  BaseError,
  getAbiItem,
  keccak256,
  stringToHex,
  zeroHash,
} from "viem";
import { EndpointV2Abi } from "../abis/EndpointV2Abi.js";
import { SimpleMessageLibAbi } from "../abis/SimpleMessageLibAbi.js";
import { type ChainSigner, createChainSigner } from "../chain/signer.js";
import { type LzPacket, bytes32ToAddress, decodePacket } from "../src/lib/lzPacket.js";
import { RELAYER_INDEX, devnetAccounts } from "./accounts.js";
import type { ChainDeployment, Deployments } from "./deployments.js";

export type RelayerOptions = {
  deployments: Deployments;
  /** Key that pays for verification and delivery. Default: devnet account RELAYER_INDEX (a public anvil key). */
  privateKey?: Hex;
  /** Delivery delay after a PacketSent is first seen, in ms (to observe tokens in flight). Default 0. */
  delayMs?: number;
  /** How often to poll every chain for new PacketSent logs, in ms. Default 100. */
  pollingIntervalMs?: number;
  /** Failure switch: `true` or a reason string → the packet is delivered as a failure (LzReceiveAlert). */
  shouldFail?: (packet: LzPacket) => boolean | string;
  log?: (line: string) => void;
};

export type Relayer = {
  stop(): Promise<void>;
  /** Packets this relayer delivered (lzReceive succeeded). */
  readonly delivered: number;
  /** Packets this relayer reported as failed (LzReceiveAlert), or found already alerted on chain. */
  readonly failed: number;
  /** Packets found already delivered on chain (by an earlier relayer). */
  readonly skipped: number;
  /**
   * Resolves when every chain has been polled successfully past the blocks that existed when it was
   * called and every packet seen is delivered or failed. Rejects if the relayer stops first, or after
   * `timeoutMs` (if given) with what it is still waiting for.
   */
  idle(options?: { timeoutMs?: number }): Promise<void>;
};

/** Gas the devnet executor reports in an alert (what it would have given lzReceive). */
const ALERT_GAS = 200_000n;
/** After an unexpected error (RPC down, race), retry the packet after this long. */
const RETRY_MS = 500;

type PacketState = {
  key: string;
  packet: LzPacket;
  encoded: Hex;
  dueAt: number;
  /** `dropped`: its PacketSent disappeared in a rewind of the source chain. */
  status: "pending" | "delivered" | "failed" | "skipped" | "dropped";
};

type ChainState = {
  chain: ChainDeployment;
  signer: ChainSigner;
  /** Next block to scan. */
  fromBlock: bigint;
  /** Hash of block `fromBlock - 1` when it was scanned (rewind detection). */
  lastHash?: Hex;
  /** Polls started so far, and the number of the last one that succeeded. */
  pollsStarted: number;
  polledOk: number;
  /** The last poll error (logged once per distinct message), and how many polls failed in a row. */
  lastError?: string;
  failuresInARow: number;
};

const packetSentEvent = getAbiItem({ abi: EndpointV2Abi, name: "PacketSent" });
const lzReceiveAlertEvent = getAbiItem({ abi: EndpointV2Abi, name: "LzReceiveAlert" });

export async function startRelayer(options: RelayerOptions): Promise<Relayer> {
  const log = options.log ?? (() => {});
  const delayMs = options.delayMs ?? 0;
  const pollingIntervalMs = options.pollingIntervalMs ?? 100;
  const privateKey = options.privateKey ?? devnetAccounts(RELAYER_INDEX + 1)[RELAYER_INDEX]!.privateKey;

  const chains = new Map<number, ChainState>();
  for (const chain of options.deployments.chains) {
    const signer = createChainSigner({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, privateKey, pollingInterval: 20 });
    chains.set(chain.eid, { chain, signer, fromBlock: BigInt(chain.startBlock), pollsStarted: 0, polledOk: 0, failuresInARow: 0 });
  }

  const packets = new Map<string, PacketState>();
  /** Pending packets per path, kept sorted by nonce. */
  const paths = new Map<string, PacketState[]>();
  const counts = { delivered: 0, failed: 0, skipped: 0 };
  let stopped = false;
  /** Resolved at the end of every cycle (and rejected when the relayer stops). */
  const cycleWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  // ---------- 1. watch ----------
  /** Forgets what was scanned on a rewound chain: pending packets of the dropped branch go. */
  function rewind(state: ChainState, why: string): void {
    log(`relayer: ${state.chain.name} was rewound (${why}): rescanning from block ${state.chain.startBlock}`);
    state.fromBlock = BigInt(state.chain.startBlock);
    state.lastHash = undefined;
    for (const [key, packet] of packets) {
      if (packet.packet.srcEid !== state.chain.eid || packet.status !== "pending") continue;
      packet.status = "dropped";
      packets.delete(key);
    }
    for (const [pathKey, queue] of paths) paths.set(pathKey, queue.filter((packet) => packet.status === "pending"));
  }

  async function poll(state: ChainState): Promise<void> {
    const { publicClient } = state.signer;
    // Not getBlockNumber: its cache (the client's polling interval) could return a head from before
    // the caller's last transaction. A block (not just its number) also gives the hash to chain on.
    const latest = await publicClient.getBlock({ blockTag: "latest" });
    const head = latest.number;
    if (state.lastHash !== undefined) {
      const last = state.fromBlock - 1n;
      if (head < last) rewind(state, `head ${head} below the last scanned block ${last}`);
      else {
        const hash = head === last ? latest.hash : (await publicClient.getBlock({ blockNumber: last })).hash;
        if (hash !== state.lastHash) rewind(state, `block ${last} changed`);
      }
    }
    if (head < state.fromBlock) return;
    const logs = await publicClient.getLogs({
      address: state.chain.endpoint,
      event: packetSentEvent,
      fromBlock: state.fromBlock,
      toBlock: head,
      strict: true,
    });
    for (const entry of logs) {
      const encoded = entry.args.encodedPayload;
      let packet: LzPacket;
      try {
        packet = decodePacket(encoded);
      } catch (error) {
        log(`relayer: skipping undecodable PacketSent in tx ${entry.transactionHash}: ${(error as Error).message}`);
        continue;
      }
      const pathKey = `${packet.srcEid}:${packet.sender}:${packet.dstEid}:${packet.receiver}`;
      const key = `${pathKey}:${packet.nonce}`;
      if (packets.has(key)) continue;
      if (!chains.has(packet.dstEid)) {
        log(`relayer: packet ${packet.guid} goes to EID ${packet.dstEid}, not a devnet chain: ignored`);
        continue;
      }
      const state: PacketState = { key, packet, encoded, dueAt: Date.now() + delayMs, status: "pending" };
      packets.set(key, state);
      const queue = paths.get(pathKey) ?? [];
      queue.push(state);
      queue.sort((a, b) => (a.packet.nonce < b.packet.nonce ? -1 : a.packet.nonce > b.packet.nonce ? 1 : 0));
      paths.set(pathKey, queue);
    }
    state.fromBlock = head + 1n;
    state.lastHash = latest.hash;
  }

  // ---------- 2 + 3. verify and deliver ----------
  function finish(state: PacketState, status: PacketState["status"]): void {
    state.status = status;
    if (status === "delivered") counts.delivered++;
    else if (status === "failed") counts.failed++;
    else if (status === "skipped") counts.skipped++;
  }

  async function handle(state: PacketState): Promise<void> {
    const { packet } = state;
    const dst = chains.get(packet.dstEid)!;
    const { publicClient } = dst.signer;
    const endpoint = dst.chain.endpoint;
    const receiver = bytes32ToAddress(packet.receiver);
    const origin = { srcEid: packet.srcEid, sender: packet.sender, nonce: packet.nonce };
    const payloadHash = keccak256(packet.payload);
    const label = `${packet.srcEid}→${packet.dstEid} nonce ${packet.nonce} guid ${packet.guid.slice(0, 10)}…`;

    const [storedHash, lazyNonce] = await Promise.all([
      publicClient.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "inboundPayloadHash", args: [receiver, packet.srcEid, packet.sender, packet.nonce] }),
      publicClient.readContract({ address: endpoint, abi: EndpointV2Abi, functionName: "lazyInboundNonce", args: [receiver, packet.srcEid, packet.sender] }),
    ]);

    if (storedHash === zeroHash && lazyNonce >= packet.nonce) {
      log(`relayer: ${label} already delivered`);
      return finish(state, "skipped");
    }
    if (storedHash !== zeroHash && storedHash !== payloadHash) {
      log(`relayer: ${label} verified with another payload hash (${storedHash}): cannot deliver`);
      return finish(state, "failed");
    }
    if (storedHash === payloadHash) {
      // Verified, not delivered: a delivery may already have been reported failed.
      if (await alreadyAlerted(dst, receiver, packet.guid)) {
        log(`relayer: ${label} already reported failed (LzReceiveAlert on chain)`);
        return finish(state, "failed");
      }
    } else {
      try {
        await dst.signer.write({
          label: "SimpleMessageLib.validatePacket",
          address: dst.chain.messageLib,
          abi: SimpleMessageLibAbi,
          functionName: "validatePacket",
          args: [state.encoded],
        });
      } catch (error) {
        // Not verifiable (e.g. the receiver does not trust the sender: LZ_PathNotInitializable). On a
        // real network such a packet stays in flight forever; retrying would never succeed.
        const data = revertData(error);
        if (data === undefined) throw error;
        log(`relayer: ${label} cannot be verified (revert ${data.slice(0, 74)}): left in flight`);
        return finish(state, "failed");
      }
      log(`relayer: ${label} verified`);
    }

    const switched = options.shouldFail?.(packet) ?? false;
    let reason: Hex | undefined;
    let gas: bigint | undefined;
    if (switched !== false) {
      reason = stringToHex(typeof switched === "string" ? switched : "devnet relayer failure switch");
    } else {
      try {
        gas = await publicClient.estimateContractGas({
          account: dst.signer.address,
          address: endpoint,
          abi: EndpointV2Abi,
          functionName: "lzReceive",
          args: [origin, receiver, packet.guid, packet.message, "0x"],
        });
      } catch (error) {
        const data = revertData(error);
        if (data === undefined) throw error;
        reason = data;
      }
    }

    if (reason !== undefined) {
      await dst.signer.write({
        label: "EndpointV2.lzReceiveAlert",
        address: endpoint,
        abi: EndpointV2Abi,
        functionName: "lzReceiveAlert",
        args: [origin, receiver, packet.guid, ALERT_GAS, 0n, packet.message, "0x", reason],
      });
      log(`relayer: ${label} delivery failed (LzReceiveAlert, reason ${reason.length > 74 ? `${reason.slice(0, 74)}…` : reason})`);
      return finish(state, "failed");
    }
    await dst.signer.write({
      label: "EndpointV2.lzReceive",
      address: endpoint,
      abi: EndpointV2Abi,
      functionName: "lzReceive",
      args: [origin, receiver, packet.guid, packet.message, "0x"],
      gas: ((gas ?? ALERT_GAS) * 13n) / 10n,
    });
    log(`relayer: ${label} delivered`);
    return finish(state, "delivered");
  }

  async function alreadyAlerted(dst: ChainState, receiver: Address, guid: Hex): Promise<boolean> {
    const alerts = await dst.signer.publicClient.getLogs({
      address: dst.chain.endpoint,
      event: lzReceiveAlertEvent,
      args: { receiver },
      fromBlock: BigInt(dst.chain.startBlock),
      toBlock: "latest",
      strict: true,
    });
    return alerts.some((alert) => alert.args.guid === guid);
  }

  /** Works one path: its pending packets in nonce order, until one is not due yet or errs. */
  async function work(queue: PacketState[]): Promise<void> {
    while (!stopped) {
      const head = queue[0];
      if (!head || head.dueAt > Date.now()) return;
      try {
        await handle(head);
        queue.shift();
      } catch (error) {
        head.dueAt = Date.now() + RETRY_MS;
        log(`relayer: packet ${head.packet.guid} failed to process, retrying in ${RETRY_MS} ms: ${describeError(error)}`);
        return;
      }
    }
  }

  async function pollAndRecord(state: ChainState): Promise<void> {
    const seq = ++state.pollsStarted;
    try {
      await poll(state);
      state.polledOk = seq;
      if (state.failuresInARow > 0) log(`relayer: polling ${state.chain.name} works again after ${state.failuresInARow} failed polls`);
      state.failuresInARow = 0;
      state.lastError = undefined;
    } catch (error) {
      state.failuresInARow++;
      const message = describeError(error);
      if (message !== state.lastError) log(`relayer: polling ${state.chain.name} failed: ${message}`);
      state.lastError = message;
    }
  }

  async function cycle(): Promise<void> {
    await Promise.all([...chains.values()].map((state) => pollAndRecord(state)));
    await Promise.all([...paths.values()].map((queue) => work(queue)));
    for (const [pathKey, queue] of paths) if (queue.length === 0) paths.delete(pathKey);
  }

  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      await cycle();
      for (const waiter of cycleWaiters.splice(0)) waiter.resolve();
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollingIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    for (const waiter of cycleWaiters.splice(0)) waiter.reject(new Error("relayer stopped"));
  })();

  /** Resolves at the end of the next cycle (waking the loop now). */
  function nextCycle(): Promise<void> {
    if (stopped) return Promise.reject(new Error("relayer stopped"));
    return new Promise((resolve, reject) => {
      cycleWaiters.push({ resolve, reject });
      wake?.();
    });
  }

  async function idle(timeoutMs?: number): Promise<void> {
    if (stopped) throw new Error("relayer stopped");
    const marks = new Map([...chains].map(([eid, state]) => [eid, state.pollsStarted]));
    const unpolled = () => [...chains].filter(([eid, state]) => state.polledOk <= marks.get(eid)!).map(([, state]) => state);
    let waitingFor: PacketState[] | undefined;
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      if (waitingFor === undefined && unpolled().length === 0) waitingFor = [...packets.values()].filter((state) => state.status === "pending");
      if (waitingFor !== undefined && waitingFor.every((state) => state.status !== "pending")) return;
      if (deadline !== undefined && Date.now() >= deadline) {
        const what =
          waitingFor === undefined
            ? `no successful poll of ${unpolled().map((state) => `${state.chain.name}${state.lastError ? ` (last error: ${state.lastError})` : ""}`).join(", ")}`
            : `${waitingFor.filter((state) => state.status === "pending").length} packets not delivered yet`;
        throw new Error(`relayer not idle after ${timeoutMs} ms: ${what}`);
      }
      await nextCycle();
    }
  }

  log(`relayer: watching PacketSent on ${chains.size} chains${delayMs ? ` (delivery delay ${delayMs} ms)` : ""}`);

  return {
    get delivered() {
      return counts.delivered;
    },
    get failed() {
      return counts.failed;
    },
    get skipped() {
      return counts.skipped;
    },
    idle: (idleOptions) => idle(idleOptions?.timeoutMs),
    async stop() {
      if (stopped) return loop;
      stopped = true;
      wake?.();
      await loop;
      log("relayer: stopped");
    },
  };
}

/** The revert data of a failed simulation, or undefined when the error is not a revert (RPC down...). */
export function revertData(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) return undefined;
  let found: Hex | undefined;
  let reverted = false;
  error.walk((cause) => {
    const candidate = cause as { data?: unknown; name?: string; details?: string };
    if (found === undefined && typeof candidate.data === "string" && /^0x[0-9a-fA-F]*$/.test(candidate.data)) found = candidate.data as Hex;
    if (candidate.name === "ContractFunctionRevertedError" || candidate.name === "ExecutionRevertedError") reverted = true;
    if (typeof candidate.details === "string" && /revert/i.test(candidate.details)) reverted = true;
    return false;
  });
  if (found !== undefined) return found;
  return reverted ? "0x" : undefined;
}

/** An error with its causes, for logs: viem's short message, its details, and a socket error code. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const add = (part: unknown) => {
    if (typeof part === "string" && part && !parts.some((p) => p.includes(part))) parts.push(part);
  };
  if (error instanceof BaseError) {
    add(error.shortMessage);
    error.walk((cause) => {
      const c = cause as { details?: unknown; code?: unknown; message?: unknown; shortMessage?: unknown; status?: unknown };
      add(typeof c.shortMessage === "string" ? c.shortMessage : c.message);
      if (typeof c.status === "number") add(`HTTP ${c.status}`);
      add(c.details);
      if (typeof c.code === "string") add(c.code);
      return false;
    });
  } else {
    let cause: unknown = error;
    for (let depth = 0; cause && depth < 5; depth++) {
      add(cause instanceof Error ? cause.message : String(cause));
      if (typeof (cause as { code?: unknown }).code === "string") add((cause as { code: string }).code);
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return parts.join(" | ").replace(/\s+/g, " ").slice(0, 500);
}
