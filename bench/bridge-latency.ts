/**
 * `npm run bench:bridge [-- --size small|medium|large|full | --bridges N] [--poll-ms 10] [--no-ws]`
 *
 * Bridge latency, stage by stage and end to end: a 2-chain devnet on LayerZero's production stack
 * with its workers (two DVNs, committer, executor: devnet/layerzero/workers.ts),
 * our Ponder indexer on Postgres (pollingInterval 100 ms) serving both the generated GraphQL and the
 * REST API (`GET /bridge/{guid}`, the production path: src/api/index.ts composes api/), and the
 * realtime companion (notifier + WebSocket server) with one socket in `collection:cosmic`.
 *
 * One bridge at a time (mint on chain A, `send` to chain B, the DVNs verify, the committer commits,
 * the executor delivers). The workers report when each of their steps was mined (`onStage`): send
 * mined → each DVN verified → committed → delivered, then → visible as DELIVERED through the API,
 * and the whole send mined → REST DELIVERED (target p50 < 500 ms with 1 confirmation). The
 * start instant t0 is when this process receives the destination's ONFTReceived log through an
 * `eth_subscribe("logs")` WebSocket subscription on anvil (pushed as the block is mined; anvil's
 * block timestamps are only 1 s granular). From t0, concurrently and on the same block:
 *   baseline: the block is visible at all through GraphQL (the Transfer row of that block),
 *   REST:     `GET /bridge/{guid}` answers `status: "DELIVERED"`,
 *   WS:       the `bridge:completed` push for that guid reaches the socket.
 * Both pollers wait `--poll-ms` between requests. REST − baseline is what our bridge join and the
 * API add; the target is REST p50 ≤ Ponder's polling interval + 150 ms.
 *
 * Where the time goes: Ponder reads the destination chain through an RPC tap (bench/lib/rpcTap.ts,
 * `--no-tap` to skip) that records when it first fetched the block (its polling wait), and the bench
 * reads Ponder's info log ("Indexed block … (N ms)") for the block's own indexing time and how long
 * it waited behind other chains' blocks (Ponder indexes one block at a time). `--ponder-log FILE`
 * keeps Ponder's whole output (PONDER_TEST_LOG_LEVEL=trace for every query). All tokens are minted in
 * one transaction before the measured bridges, so each bridge adds only its own blocks (send on A;
 * two DVN verifications, the commit and the delivery on B).
 */
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { type Hex, createPublicClient, getAbiItem, webSocket } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { AuthService } from "../domain/auth/service.js";
import { connectIndexedDb } from "../read/db.js";
import { sendToken, tokenIdInRange } from "../chain/onft.js";
import { type StageEvent, startLayerZeroWorkers } from "../devnet/layerzero/workers.js";
import { loadOpsConfig } from "../infra/config/ops.js";
import { startRealtime } from "../realtime/service.js";
import { createTestApp, PG_URL } from "../test/api/helpers.js";
import { collectionOn, deployer, signerFor, startTestDevnet } from "../test/helpers/devnet.js";
import { cleanupPonder, startPonder, waitForHead, withRpcUrls } from "../test/helpers/ponder.js";
import { connect } from "../test/realtime/helpers.js";
import { startRpcTap } from "./lib/rpcTap.js";
import { pct, sleep, within } from "./lib/timing.js";

const SIZES = { small: 20, medium: 100, large: 200, full: 200 } as const;
const PONDER_POLL_MS = 100; // indexer/setup.ts default, used by startPonder
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    bridges: { type: "string" },
    "poll-ms": { type: "string", default: "10" },
    "no-ws": { type: "boolean", default: false },
    "no-tap": { type: "boolean", default: false },
    "ponder-log": { type: "string" },
  },
});
const bridges = values.bridges ? Number(values.bridges) : SIZES[values.size as keyof typeof SIZES];
const pollMs = Number(values["poll-ms"]);
if (!(bridges > 0) || !(pollMs >= 0)) {
  console.error(`--size must be one of ${Object.keys(SIZES).join(", ")} (or --bridges N); --poll-ms ≥ 0`);
  process.exit(2);
}
const withWs = !values["no-ws"];
const log = (line: string) => console.log(`[bench] ${line}`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
const cleanups: (() => Promise<unknown>)[] = [() => devnet.stop()];
let exitCode = 0;
try {
  const [src, dst] = devnet.deployments.chains as [(typeof devnet.deployments.chains)[0], (typeof devnet.deployments.chains)[0]];
  const srcCosmic = collectionOn(devnet.deployments, "cosmic", src.chainId);
  const dstCosmic = collectionOn(devnet.deployments, "cosmic", dst.chainId);

  const stages = new Map<string, StageEvent[]>();
  const workers = await startLayerZeroWorkers({
    deployments: devnet.deployments,
    pollingIntervalMs: 50,
    onStage: (e) => stages.set(e.guid.toLowerCase(), [...(stages.get(e.guid.toLowerCase()) ?? []), e]),
  });
  cleanups.unshift(() => workers.stop());
  // Ponder reads the destination chain through a tap that records when it first fetched each block.
  const tap = values["no-tap"] ? undefined : await startRpcTap(dst.rpcUrl);
  if (tap) cleanups.unshift(() => tap.close());
  // Ponder logs every live block it indexes ("Indexed block chain=… number=… (N ms)") at info level.
  process.env.PONDER_TEST_LOG_LEVEL ??= "info";
  // The pollers send hundreds of requests a second from one IP: lift the per-IP rate limits.
  const ponder = await startPonder({
    deployments: tap ? withRpcUrls(devnet.deployments, new Map([[dst.chainId, tap.url]])) : devnet.deployments,
    db: "postgres",
    env: { RATE_LIMIT_PER_IP: "100000000", RATE_LIMIT_GRAPHQL_PER_IP: "100000000", LOG_LEVEL: "warn" },
  });
  cleanups.unshift(() => cleanupPonder(ponder));
  const ponderIndexed = new Map<string, { at: number; ms: number }>();
  let pending = "";
  ponder.child.stdout?.on("data", (chunk: Buffer) => {
    const at = performance.now();
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) {
      const m = /Indexed block chain=(\S+) number=(\d+) event_count=\d+ \((\d+)ms\)/.exec(l);
      if (m) ponderIndexed.set(`${m[1]}:${m[2]}`, { at, ms: Number(m[3]) });
    }
  });
  if (values["ponder-log"]) {
    const file = createWriteStream(values["ponder-log"]);
    ponder.child.stdout?.pipe(file);
    ponder.child.stderr?.pipe(file);
  }
  await waitForHead(ponder, devnet.deployments);

  // ONFTReceived on the destination, pushed by anvil as the block is mined: t0 per guid.
  const received = new Map<string, { at: number; block: bigint }>();
  const receivedWaiters = new Map<string, () => void>();
  const dstWs = createPublicClient({ transport: webSocket(dst.rpcUrl.replace(/^http/, "ws")) });
  const unwatch = dstWs.watchEvent({
    address: dstCosmic.address,
    event: getAbiItem({ abi: CosmicONFT721Abi, name: "ONFTReceived" }),
    strict: true,
    onLogs: (logs) => {
      const at = performance.now();
      for (const l of logs) {
        const guid = l.args.guid.toLowerCase();
        received.set(guid, { at, block: l.blockNumber });
        receivedWaiters.get(guid)?.();
      }
    },
    onError: (error) => log(`ONFTReceived subscription error: ${error.message}`),
  });
  cleanups.unshift(async () => {
    unwatch();
    await dstWs.transport.getRpcClient().then((c) => c.close());
  });
  const onftReceived = (guid: string) =>
    received.has(guid)
      ? Promise.resolve(received.get(guid)!)
      : new Promise<{ at: number; block: bigint }>((resolve) => receivedWaiters.set(guid, () => resolve(received.get(guid)!)));

  let socket: Awaited<ReturnType<typeof connect>> | undefined;
  if (withWs) {
    const indexed = connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 4 });
    cleanups.unshift(() => indexed.close());
    const t = await createTestApp({ kv: "redis" });
    cleanups.unshift(() => t.close());
    const ops = loadOpsConfig({ REALTIME_PORT: "0", REALTIME_POLL_MS: "50" });
    const service = await startRealtime({ kv: t.deps.kv, store: t.deps.store, logger: t.deps.logger, auth: new AuthService(t.deps), indexed, ops });
    cleanups.unshift(() => service.close());
    socket = await connect(service.server.url);
    const s = socket;
    cleanups.unshift(async () => s.ws.close());
    socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
    await socket.next((m) => m.type === "subscribed");
  }

  const gqlReq: number[] = [];
  const restReq: number[] = [];
  /** Polls until `done(body)`; returns the instant the answer arrived. */
  async function pollUntil(url: string, init: RequestInit | undefined, done: (status: number, body: any) => boolean, durations: number[]): Promise<number> {
    for (;;) {
      const t = performance.now();
      const res = await fetch(url, init);
      const body = await res.json().catch(() => null);
      const now = performance.now();
      durations.push(now - t);
      if (res.status >= 500 || res.status === 429) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
      if (done(res.status, body)) return now;
      if (pollMs) await sleep(pollMs);
    }
  }
  const blockVisibleQuery = "query($c:Int!,$b:BigInt!){transfers(where:{chainId:$c,blockNumber:$b},limit:1){items{txHash}}}";

  // Every token is minted up front in one transaction: a bridge's blocks are then only its own
  // (send on A; verify and deliver on B), not a mint block queued in front of them.
  const signer = signerFor(src, deployer.privateKey);
  const tokenIds = Array.from({ length: bridges }, (_, i) => tokenIdInRange(src.eid, 10_000n + BigInt(i)));
  for (let i = 0; i < bridges; i += 200) {
    const ids = tokenIds.slice(i, i + 200);
    await signer.write({ address: srcCosmic.address, abi: CosmicONFT721Abi, functionName: "mintBatch", args: [ids.map(() => deployer.address), ids] });
  }
  await waitForHead(ponder, devnet.deployments);
  const relay: number[] = [];
  const byStage = new Map<string, number[]>();
  const whole: number[] = [];
  const baseline: number[] = [];
  const rest: number[] = [];
  const push: number[] = [];
  const learned: number[] = [];
  const queued: number[] = [];
  const ownIndexing: number[] = [];
  const blocksAhead: number[] = [];
  const indexedToGql: number[] = [];
  log(
    `${bridges} bridges ${src.chainId} → ${dst.chainId}, Ponder polling ${PONDER_POLL_MS} ms, API/GraphQL poll every ${pollMs} ms, LayerZero workers polling 50 ms, ${devnet.deployments.layerZeroSettings.confirmations} confirmation(s)${withWs ? ", WebSocket notifier poll 50 ms" : ""}`,
  );
  for (let i = 0; i < bridges; i++) {
    const tokenId = tokenIds[i]!;
    const sent = await sendToken({ signer, deployment: srcCosmic, tokenId, dstEid: dst.eid, to: deployer.address });
    const sentAt = performance.now();
    const guid = sent.guid.toLowerCase() as Hex;
    const { at: t0, block } = await within(30_000, `ONFTReceived of ${guid}`, onftReceived(guid));
    relay.push(t0 - sentAt);
    const [gqlAt, restAt, pushAt] = await within(
      30_000,
      `bridge ${guid} visible`,
      Promise.all([
        pollUntil(
          `${ponder.url}/graphql`,
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: blockVisibleQuery, variables: { c: dst.chainId, b: block.toString() } }),
          },
          (_s, body) => (body?.data?.transfers?.items?.length ?? 0) > 0,
          gqlReq,
        ),
        pollUntil(`${ponder.url}/bridge/${guid}`, undefined, (status, body) => status === 200 && body?.status === "DELIVERED", restReq),
        socket
          ? socket.next((m) => m.type === "bridge:completed" && String(m.data?.guid).toLowerCase() === guid, 30_000).then(() => performance.now())
          : Promise.resolve(Number.NaN),
      ]),
    );
    baseline.push(gqlAt - t0);
    const firstSeen = tap?.firstSeen(block);
    if (firstSeen !== undefined) learned.push(firstSeen - t0);
    // Ponder's own account of the block: when it logged "Indexed block" and how long that block took.
    let own = ponderIndexed.get(`${dst.name}:${block}`);
    for (const deadline = performance.now() + 5_000; !own && performance.now() < deadline; own = ponderIndexed.get(`${dst.name}:${block}`)) await sleep(10);
    if (own) {
      ownIndexing.push(own.ms);
      indexedToGql.push(gqlAt - own.at);
      if (firstSeen !== undefined) {
        queued.push(Math.max(0, own.at - own.ms - firstSeen));
        blocksAhead.push([...ponderIndexed.values()].filter((e) => e.at > firstSeen && e.at < own.at).length);
      }
    }
    rest.push(restAt - t0);
    whole.push(restAt - sentAt);
    for (const e of stages.get(guid) ?? []) {
      const name = e.stage === "dvn-verified" ? `${e.worker} verified` : e.stage;
      byStage.set(name, [...(byStage.get(name) ?? []), e.at - sentAt]);
    }
    if (socket) push.push(pushAt - t0);
    if ((i + 1) % 20 === 0 || i + 1 === bridges) log(`${i + 1}/${bridges} bridges delivered`);
  }
  const target = PONDER_POLL_MS + 150;
  const line = (label: string, xs: number[], n = false) =>
    `${label.padEnd(40)} p50 ${pct(xs, 50).toFixed(0)} ms  p95 ${pct(xs, 95).toFixed(0)} ms${n ? `  (n=${xs.length})` : ""}`;
  for (const name of [...byStage.keys()].sort((a, b) => pct(byStage.get(a)!, 50) - pct(byStage.get(b)!, 50)))
    log(line(`send mined → ${name}`, byStage.get(name)!));
  log(line("send mined → ONFTReceived (workers)", relay));
  if (learned.length) {
    log(line("ONFTReceived → Ponder fetched the block", learned));
    const indexing = baseline.map((b, i) => b - (learned[i] ?? Number.NaN)).filter((x) => !Number.isNaN(x));
    log(line("Ponder fetched block → GraphQL row", indexing));
  }
  if (queued.length) {
    log(line("  fetched → its indexing starts", queued));
    log(`${"  (blocks indexed ahead of it)".padEnd(40)} p50 ${pct(blocksAhead, 50)}  p95 ${pct(blocksAhead, 95)}`);
  }
  if (ownIndexing.length) {
    log(line("  its own indexing + commit", ownIndexing));
    log(line("  Ponder 'Indexed block' → GraphQL row", indexedToGql));
  }
  log(line("baseline ONFTReceived → GraphQL row", baseline));
  log(line("ONFTReceived → REST DELIVERED", rest, true));
  if (push.length) log(line("ONFTReceived → WS bridge:completed", push, true));
  log(`bridge join + API overhead p50 ${(pct(rest, 50) - pct(baseline, 50)).toFixed(0)} ms  ratio ${(pct(rest, 50) / pct(baseline, 50)).toFixed(2)}×`);
  log(
    `request time (mean): GraphQL ${mean(gqlReq).toFixed(1)} ms over ${gqlReq.length}, GET /bridge/{guid} ${mean(restReq).toFixed(1)} ms over ${restReq.length}`,
  );
  if (tap) log(`Ponder's RPC requests to the destination chain: ${JSON.stringify(tap.counts())}`);
  log(line("whole bridge: send mined → REST DELIVERED", whole, true));
  log(`target REST p50 ≤ ${target} ms: ${pct(rest, 50) <= target ? "met" : "NOT met"}; whole bridge p50 < 500 ms: ${pct(whole, 50) < 500 ? "met" : "NOT met"}`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const fn of cleanups) await fn().catch(() => {});
}
process.exit(exitCode);
