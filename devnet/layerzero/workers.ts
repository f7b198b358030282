/**
 * LayerZero's off-chain workers for the devnet — the pieces LayerZero only runs on real networks
 * (its `TestHelperOz5` works inside one EVM, not across our anvil processes): one verifier per DVN
 * (dvnVerifier.ts), a committer (committer.ts) and an executor (executor.ts), fed by one
 * PacketSent feed (packetFeed.ts).
 *
 * Every step is decided from chain state (packetState.ts), never from memory, so any worker — or
 * the whole set — can be stopped anywhere and started again and every packet is still delivered
 * exactly once:
 *   - delivered (`inboundPayloadHash == 0`, `lazyInboundNonce >= nonce`)          → nothing to do;
 *   - committed (`inboundPayloadHash == keccak256(guid ++ message)`)               → the executor;
 *   - not committed: each DVN named by the destination's ULN config that has not attested
 *     (`hashLookup`) verifies once the source has the pathway's confirmations; the committer
 *     commits once `ReceiveUln302View.verifiable` says Verifiable.
 * Packets of one path (srcEid, sender, dstEid, receiver) are handled in nonce order. A delivery that
 * reverts ends in LzReceiveAlert on chain (emitted by the Executor contract, as on mainnet); a packet
 * with an alert on chain is not executed again automatically (anyone may retry it on chain).
 *
 * Test switches: any worker offline (`offline`, or `dvn(i).stop()` / `.start()` at run time), a
 * delay per worker, and `shouldFail` (the executor runs that delivery out of gas). A worker whose
 * call fails (RPC down, revert) logs once per packet and reason, with the guid, and retries.
 *
 * `idle()` is honest: it resolves only once every chain has been polled successfully by a poll that
 * started after the call and every packet seen by then is delivered or failed.
 */
import { type Address, type Hex, getAbiItem } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { EndpointV2Abi } from "../../abis/EndpointV2Abi.js";
import { describeError } from "../../chain/describeError.js";
import { type HeadWatcher, watchHeads } from "../../chain/heads.js";
import { type ChainSigner, createChainSigner } from "../../chain/signer.js";
import type { LzPacket } from "../../chain/layerzero/lzPacket.js";
import { devnetAccount, dvnSignerAccount } from "../accounts.js";
import type { ChainDeployment, Deployments } from "../../chain/deployments.js";
import { COMMITTER_INDEX, DVN_ADMIN_INDEX, EXECUTOR_INDEX } from "../options.js";
import { VerificationState, commitVerification, verificationState } from "./committer.js";
import { hasVerified, receiveUlnConfig, verifyAsDvn } from "./dvnVerifier.js";
import { ExecutionState, execute302, executionState } from "./executor.js";
import { type FeedChain, type SentPacket, createPacketFeed } from "./packetFeed.js";
import { readInbound, receiverOf } from "./packetState.js";

export type WorkerStage = "dvn-verified" | "committed" | "delivered" | "failed";
export type StageEvent = { guid: Hex; stage: WorkerStage; worker: string; txHash: Hex; at: number };

export type LayerZeroWorkersOptions = {
  deployments: Deployments;
  /**
   * How often to poll every chain for new PacketSent logs and advance packets, in ms, while a packet
   * is pending or a chain has no head subscription. Default 100.
   */
  pollingIntervalMs?: number;
  /** With every chain's new heads subscribed (`wsUrl`) and nothing pending: a poll this often as a safety net. Default 2000. */
  idlePollingIntervalMs?: number;
  /** Subscribe to new heads where the deployments give a `wsUrl` (default true): a block wakes the workers at once. */
  subscribeHeads?: boolean;
  /** Nothing happens on the destination for this long after a PacketSent is seen (the DVNs wait). */
  delayMs?: number;
  /** Delay of each worker after a packet is first seen, in ms (on top of `delayMs` for the DVNs). */
  delays?: { dvns?: number[]; committer?: number; executor?: number };
  /** Workers that start offline (turn them on with `dvn(i).start()`, `executor.start()`...). */
  offline?: { dvns?: number[]; committer?: boolean; executor?: boolean };
  /** Failure switch: the executor runs this packet's delivery out of gas (LzReceiveAlert, empty reason). */
  shouldFail?: (packet: LzPacket) => boolean;
  /** Called when a worker's step is mined (the bridge bench's stage timings). */
  onStage?: (event: StageEvent) => void;
  log?: (line: string) => void;
};

export type WorkerSwitch = { readonly name: string; readonly online: boolean; start(): void; stop(): void };

export type LayerZeroWorkers = {
  stop(): Promise<void>;
  /** Packets this worker set delivered (lzReceive succeeded). */
  readonly delivered: number;
  /** Packets whose delivery failed (LzReceiveAlert), or that cannot be delivered. */
  readonly failed: number;
  /** Packets found already delivered on chain (by an earlier worker set). */
  readonly skipped: number;
  dvn(index: number): WorkerSwitch;
  readonly committer: WorkerSwitch;
  readonly executor: WorkerSwitch;
  idle(options?: { timeoutMs?: number }): Promise<void>;
};

/** After an unexpected error (RPC down, race), retry the packet after this long. */
const RETRY_MS = 500;
/** The failure switch's gas: far below what any lzReceive needs. */
const OUT_OF_GAS_LIMIT = 2_000n;

type PacketStatus = "pending" | "delivered" | "failed" | "skipped" | "dropped";
type Tracked = SentPacket & { status: PacketStatus; retryAt: number; alertChecked: boolean; errors: Set<string> };

type ChainWorkers = {
  chain: ChainDeployment;
  feed: FeedChain;
  executor: ChainSigner;
  committer: ChainSigner;
  dvnAdmins: ChainSigner[];
  polls: { started: number; ok: number; failuresInARow: number; lastError?: string };
};

const lzReceiveAlertEvent = getAbiItem({ abi: EndpointV2Abi, name: "LzReceiveAlert" });

export async function startLayerZeroWorkers(options: LayerZeroWorkersOptions): Promise<LayerZeroWorkers> {
  const log = options.log ?? (() => {});
  const pollingIntervalMs = options.pollingIntervalMs ?? 100;
  const idlePollingIntervalMs = options.idlePollingIntervalMs ?? 2_000;
  const { deployments } = options;
  const dvnCount = deployments.layerZeroSettings.dvns;
  const signer = (chain: ChainDeployment, index: number) =>
    createChainSigner({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, privateKey: devnetAccount(index).privateKey, pollingInterval: 20 });
  const dvnSignerKeys: PrivateKeyAccount[][] = Array.from({ length: dvnCount }, (_, i) =>
    Array.from({ length: deployments.layerZeroSettings.dvnSigners }, (_, j) => privateKeyToAccount(dvnSignerAccount(i, j).privateKey)),
  );

  const chains = new Map<number, ChainWorkers>();
  for (const chain of deployments.chains) {
    const executor = signer(chain, EXECUTOR_INDEX);
    chains.set(chain.eid, {
      chain,
      feed: { chain, client: executor.publicClient, fromBlock: BigInt(chain.startBlock), head: 0n },
      executor,
      committer: signer(chain, COMMITTER_INDEX),
      dvnAdmins: Array.from({ length: dvnCount }, (_, i) => signer(chain, DVN_ADMIN_INDEX + i)),
      polls: { started: 0, ok: 0, failuresInARow: 0 },
    });
  }

  const packets = new Map<string, Tracked>();
  const paths = new Map<string, Tracked[]>();
  const counts = { delivered: 0, failed: 0, skipped: 0 };
  const feed = createPacketFeed(
    [...chains.values()].map((c) => c.feed),
    log,
    (sent) => {
      const tracked = packets.get(sent.key);
      if (tracked?.status === "pending") tracked.status = "dropped";
      packets.delete(sent.key);
      const queue = paths.get(sent.pathKey);
      if (queue)
        paths.set(
          sent.pathKey,
          queue.filter((p) => p.key !== sent.key),
        );
    },
  );

  // ---------- switches ----------
  const makeSwitch = (name: string, online: boolean) => {
    const s = { name, online, start: () => void (s.online = true), stop: () => void (s.online = false) };
    return s;
  };
  const dvnSwitches = Array.from({ length: dvnCount }, (_, i) => makeSwitch(`dvn-${i}`, !options.offline?.dvns?.includes(i)));
  const committerSwitch = makeSwitch("committer", !options.offline?.committer);
  const executorSwitch = makeSwitch("executor", !options.offline?.executor);
  const due = (p: Tracked, delay: number | undefined) => Date.now() >= p.seenAt + (delay ?? 0);
  const dvnDelay = (i: number) => (options.delayMs ?? 0) + (options.delays?.dvns?.[i] ?? 0);

  function finish(p: Tracked, status: PacketStatus) {
    p.status = status;
    if (status === "delivered" || status === "failed" || status === "skipped") counts[status]++;
  }
  const label = (p: Tracked) => `${p.packet.srcEid}→${p.packet.dstEid} nonce ${p.packet.nonce} guid ${p.packet.guid.slice(0, 10)}…`;
  const stage = (p: Tracked, s: WorkerStage, worker: string, txHash: Hex) =>
    options.onStage?.({ guid: p.packet.guid, stage: s, worker, txHash, at: performance.now() });

  // ---------- the steps ----------
  /** DVNs and the committer; true when the packet is committed now. */
  async function verifyStage(p: Tracked, dst: ChainWorkers, src: ChainWorkers): Promise<boolean> {
    const lz = dst.chain.layerZero;
    const { publicClient } = dst.executor;
    const config = await receiveUlnConfig(publicClient, lz.receiveUln302, p);
    const assigned = new Set([...config.requiredDVNs, ...config.optionalDVNs].map((a) => a.toLowerCase()));
    const confirmations = src.feed.head - p.blockNumber + 1n;
    await Promise.all(
      lz.dvns.map(async (dvn, i) => {
        if (!dvnSwitches[i]!.online || !due(p, dvnDelay(i)) || !assigned.has(dvn.address.toLowerCase())) return;
        if (confirmations < config.confirmations) return;
        if (await hasVerified(publicClient, lz.receiveUln302, dvn.address, p)) return;
        const txHash = await verifyAsDvn({
          admin: dst.dvnAdmins[i]!,
          dvn,
          signers: dvnSignerKeys[i]!,
          receiveUln302: lz.receiveUln302,
          sent: p,
          confirmations: config.confirmations,
        });
        log(`workers: ${label(p)} verified by ${dvn.name}`);
        stage(p, "dvn-verified", dvn.name, txHash);
      }),
    );
    if (!committerSwitch.online || !due(p, options.delays?.committer)) return false;
    const state = await verificationState(publicClient, lz.receiveUln302View, p);
    if (state === VerificationState.NotInitializable) {
      // E.g. the receiver does not trust the sender (no peer): on a real network it stays in flight.
      log(`workers: ${label(p)} cannot be committed (path not initializable): left in flight`);
      finish(p, "failed");
      return false;
    }
    if (state !== VerificationState.Verifiable) return false;
    const txHash = await commitVerification(dst.committer, lz.receiveUln302, p);
    log(`workers: ${label(p)} committed`);
    stage(p, "committed", "committer", txHash);
    return true;
  }

  async function alreadyAlerted(dst: ChainWorkers, receiver: Address, guid: Hex): Promise<boolean> {
    const alerts = await dst.executor.publicClient.getLogs({
      address: dst.chain.endpoint,
      event: lzReceiveAlertEvent,
      args: { receiver },
      fromBlock: BigInt(dst.chain.startBlock),
      toBlock: "latest",
      strict: true,
    });
    return alerts.some((alert) => alert.args.guid === guid);
  }

  async function executeStage(p: Tracked, dst: ChainWorkers): Promise<void> {
    if (!executorSwitch.online || !due(p, options.delays?.executor)) return;
    if (!p.alertChecked) {
      if (await alreadyAlerted(dst, receiverOf(p), p.packet.guid)) {
        log(`workers: ${label(p)} already reported failed (LzReceiveAlert on chain)`);
        return finish(p, "failed");
      }
      p.alertChecked = true;
    }
    const state = await executionState(dst.executor.publicClient, dst.chain.layerZero.receiveUln302View, p);
    if (state === ExecutionState.Executed) return finish(p, "skipped");
    if (state !== ExecutionState.Executable) return;
    const result = await execute302(dst.executor, dst.chain.layerZero.executor.address, p, options.shouldFail?.(p.packet) ? OUT_OF_GAS_LIMIT : undefined);
    if (result.outcome === "delivered") {
      log(`workers: ${label(p)} delivered`);
      stage(p, "delivered", "executor", result.txHash);
      return finish(p, "delivered");
    }
    log(
      `workers: ${label(p)} delivery failed (LzReceiveAlert, gas ${result.gas}, reason ${result.reason === "0x" ? "empty: out of gas" : result.reason.slice(0, 74)})`,
    );
    stage(p, "failed", "executor", result.txHash);
    return finish(p, "failed");
  }

  async function handle(p: Tracked): Promise<void> {
    const dst = chains.get(p.packet.dstEid)!;
    const src = chains.get(p.packet.srcEid)!;
    const inbound = await readInbound(dst.executor.publicClient, dst.chain.endpoint, p);
    if (inbound.kind === "delivered") return finish(p, "skipped");
    if (inbound.kind === "conflict") {
      log(`workers: ${label(p)} verified with another payload hash (${inbound.storedHash}): cannot deliver`);
      return finish(p, "failed");
    }
    // Committed in this very step: go on to the executor without waiting for the next cycle.
    if (inbound.kind === "verifying" && !(await verifyStage(p, dst, src))) return;
    await executeStage(p, dst);
  }

  /** Works one path: its pending packets in nonce order, until one is not finished or errs. */
  async function work(queue: Tracked[]): Promise<void> {
    while (!stopped) {
      const head = queue[0];
      if (!head) return;
      if (head.status !== "pending") {
        queue.shift();
        continue;
      }
      if (head.retryAt > Date.now()) return;
      try {
        await handle(head);
      } catch (error) {
        head.retryAt = Date.now() + RETRY_MS;
        const message = describeError(error);
        if (!head.errors.has(message)) log(`workers: packet ${head.packet.guid} failed a step, retrying every ${RETRY_MS} ms: ${message}`);
        head.errors.add(message);
        return;
      }
      if (head.status === "pending") return;
      queue.shift();
    }
  }

  async function pollChain(state: ChainWorkers): Promise<void> {
    const seq = ++state.polls.started;
    try {
      for (const sent of await feed.poll(state.feed)) {
        const tracked: Tracked = { ...sent, status: "pending", retryAt: 0, alertChecked: false, errors: new Set() };
        packets.set(sent.key, tracked);
        const queue = paths.get(sent.pathKey) ?? [];
        queue.push(tracked);
        queue.sort((a, b) => (a.packet.nonce < b.packet.nonce ? -1 : a.packet.nonce > b.packet.nonce ? 1 : 0));
        paths.set(sent.pathKey, queue);
      }
      state.polls.ok = seq;
      if (state.polls.failuresInARow > 0) log(`workers: polling ${state.chain.name} works again after ${state.polls.failuresInARow} failed polls`);
      state.polls.failuresInARow = 0;
      state.polls.lastError = undefined;
    } catch (error) {
      state.polls.failuresInARow++;
      const message = describeError(error);
      if (message !== state.polls.lastError) log(`workers: polling ${state.chain.name} failed: ${message}`);
      state.polls.lastError = message;
    }
  }

  async function cycle(): Promise<void> {
    await Promise.all([...chains.values()].map(pollChain));
    await Promise.all([...paths.values()].map(work));
    for (const [pathKey, queue] of paths) if (queue.length === 0) paths.delete(pathKey);
  }

  // ---------- the loop ----------
  // Every step waits for a block (a source confirmation, a DVN's or the committer's transaction):
  // a new head on any chain starts the next cycle at once.
  let stopped = false;
  let wake: (() => void) | undefined;
  let wakeRequested = false;
  const heads: HeadWatcher[] =
    options.subscribeHeads === false
      ? []
      : deployments.chains.flatMap((chain) =>
          chain.wsUrl ? [watchHeads({ rpcUrl: chain.rpcUrl, wsUrl: chain.wsUrl, pollMs: 0, onHead: () => (wake ? wake() : (wakeRequested = true)) })] : [],
        );
  const sleepMs = () => {
    const headsLive = heads.length === chains.size && heads.every((h) => h.live);
    const pending = [...packets.values()].some((p) => p.status === "pending");
    return headsLive && !pending ? idlePollingIntervalMs : pollingIntervalMs;
  };
  const cycleWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const loop = (async () => {
    while (!stopped) {
      await cycle();
      for (const waiter of cycleWaiters.splice(0)) waiter.resolve();
      if (stopped) break;
      if (wakeRequested) {
        wakeRequested = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, sleepMs());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    for (const waiter of cycleWaiters.splice(0)) waiter.reject(new Error("LayerZero workers stopped"));
  })();

  function nextCycle(): Promise<void> {
    if (stopped) return Promise.reject(new Error("LayerZero workers stopped"));
    return new Promise((resolve, reject) => {
      cycleWaiters.push({ resolve, reject });
      wake?.();
    });
  }

  async function idle(timeoutMs?: number): Promise<void> {
    if (stopped) throw new Error("LayerZero workers stopped");
    const marks = new Map([...chains].map(([eid, state]) => [eid, state.polls.started]));
    const unpolled = () => [...chains].filter(([eid, state]) => state.polls.ok <= marks.get(eid)!).map(([, state]) => state);
    let waitingFor: Tracked[] | undefined;
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      if (waitingFor === undefined && unpolled().length === 0) waitingFor = [...packets.values()].filter((p) => p.status === "pending");
      if (waitingFor !== undefined && waitingFor.every((p) => p.status !== "pending")) return;
      if (deadline !== undefined && Date.now() >= deadline) {
        const what =
          waitingFor === undefined
            ? `no successful poll of ${unpolled()
                .map((s) => `${s.chain.name}${s.polls.lastError ? ` (last error: ${s.polls.lastError})` : ""}`)
                .join(", ")}`
            : `${waitingFor.filter((p) => p.status === "pending").length} packets not delivered yet`;
        throw new Error(`LayerZero workers not idle after ${timeoutMs} ms: ${what}`);
      }
      await nextCycle();
    }
  }

  const offline = [...dvnSwitches, committerSwitch, executorSwitch].filter((s) => !s.online).map((s) => s.name);
  log(
    `workers: ${dvnCount} DVNs, committer and executor watching ${chains.size} chains${offline.length ? ` (offline: ${offline.join(", ")})` : ""}${options.delayMs ? ` (delivery delay ${options.delayMs} ms)` : ""}`,
  );

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
    dvn(index) {
      const s = dvnSwitches[index];
      if (!s) throw new Error(`no DVN ${index} (the devnet has ${dvnCount})`);
      return s;
    },
    committer: committerSwitch,
    executor: executorSwitch,
    idle: (idleOptions) => idle(idleOptions?.timeoutMs),
    async stop() {
      if (stopped) return loop;
      stopped = true;
      for (const h of heads) h.close();
      wake?.();
      await loop;
      log("workers: stopped");
    },
  };
}
