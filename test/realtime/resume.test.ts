/**
 * Resume (issue 12 item 2): a client that lost its socket reconnects — to the OTHER replica — with
 * the id of the last push it received and gets exactly the pushes it missed, in order, then live
 * ones: no gap, no duplicate. Chain pushes come from devnet → Ponder → the notifiers (both replicas)
 * → the Redis Stream log; an unknown or expired id answers `resync`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { createChainSigner } from "../../chain/signer.js";
import { connectIndexedDb } from "../../read/db.js";
import type { Devnet } from "../../devnet/start.js";
import { publishPush, pushLogOf } from "../../realtime/pushLog.js";
import { startRealtimeServer } from "../../realtime/server.js";
import { createLogger } from "../../infra/logger.js";
import { MemoryKeyValueStore } from "../../infra/redis.js";
import { PG_URL } from "../api/helpers.js";
import { accounts, deployer, startTestDevnet } from "../helpers/devnet.js";
import { cleanupPonder, type PonderInstance, startPonder, waitForHead } from "../helpers/ponder.js";
import { type Cluster, connect, startCluster } from "./helpers.js";

let devnet: Devnet;
let ponder: PonderInstance;
let cluster: Cluster;
const alice = accounts[1]!;

const chainA = () => devnet.deployments.chains[0]!;
const cosmic = () => devnet.deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === chainA().chainId)!;
const mint = (serial: number) =>
  createChainSigner({ chainId: chainA().chainId, rpcUrl: chainA().rpcUrl, privateKey: deployer.privateKey, pollingInterval: 10 }).write({
    address: cosmic().address,
    abi: CosmicONFT721Abi,
    functionName: "mint",
    args: [alice.address, tokenIdInRange(chainA().eid, serial)],
  });
const idOf = (serial: number) => String(tokenIdInRange(chainA().eid, serial));
const pushesOf = (messages: any[]) => messages.filter((m) => typeof m.id === "string" && m.data);

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
  await waitForHead(ponder, devnet.deployments);
  cluster = await startCluster({ count: 2, indexed: () => connectIndexedDb({ databaseUrl: PG_URL, schema: ponder.schema, max: 2 }) });
}, 180_000);

afterAll(async () => {
  await cluster?.close();
  if (ponder) await cleanupPonder(ponder);
  await devnet?.stop();
});

describe("resume across replicas", () => {
  it("replays exactly the chain pushes missed while disconnected (on the other replica), then live ones", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const first = await connect(a.realtime.server.url);
    first.send({ type: "subscribe", rooms: ["collection:cosmic"] });
    await first.next((m) => m.type === "subscribed");
    await mint(1);
    const last = await first.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(1), 20_000);
    first.close();

    // Missed while disconnected.
    for (const serial of [2, 3, 4]) await mint(serial);
    await waitForHead(ponder, devnet.deployments);
    // Wait until the notifier has published the last of them (a socket that stayed subscribed sees it).
    const witness = await connect(a.realtime.server.url);
    witness.send({ type: "resume", after: last.id, rooms: ["collection:cosmic"] });
    await witness.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(4), 20_000);
    witness.close();

    // Reconnect to B with the last id; a live mint races the replay.
    const resumed = await connect(`${b.realtime.server.url}?resume=${encodeURIComponent(last.id)}&rooms=collection:cosmic`);
    await mint(5);
    await resumed.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(5), 20_000);
    await mint(6);
    await resumed.next((m) => m.type === "nft:minted" && m.data.tokenId === idOf(6), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const got = pushesOf(resumed.messages).filter((m) => m.type === "nft:minted");
    expect(got.map((m) => m.data.tokenId)).toEqual([2, 3, 4, 5, 6].map(idOf));
    expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
    expect(got[0]!.rooms).toEqual(["collection:cosmic"]);
    const marker = resumed.messages.find((m) => m.type === "resumed");
    expect(marker).toMatchObject({ after: last.id });
    expect(marker.replayed).toBeGreaterThanOrEqual(3);
    // The replayed ones come before the marker.
    const markerAt = resumed.messages.indexOf(marker);
    expect(
      resumed.messages
        .slice(0, markerAt)
        .filter((m) => m.type === "nft:minted")
        .map((m) => m.data.tokenId),
    ).toEqual(expect.arrayContaining([2, 3, 4].map(idOf)));
    resumed.close();
  }, 90_000);

  it("a `resume` message after live pushes already sent does not repeat them", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const socket = await connect(b.realtime.server.url);
    socket.send({ type: "subscribe", rooms: ["event:resume-1"] });
    await socket.next((m) => m.type === "subscribed");
    const ids = ["r1", "r2", "r3", "r4"].map((n) => `test:${n}:${Date.now()}`);
    await publishPush(a.deps.kv, { id: ids[0]!, type: "event:registered", rooms: ["event:resume-1"], data: { n: 0 } });
    await socket.next((m) => m.id === ids[0]);
    socket.close();
    await publishPush(a.deps.kv, { id: ids[1]!, type: "event:registered", rooms: ["event:resume-1"], data: { n: 1 } });
    await publishPush(a.deps.kv, { id: ids[2]!, type: "event:registered", rooms: ["event:other"], data: { n: 2 } });
    const again = await connect(a.realtime.server.url);
    again.send({ type: "subscribe", rooms: ["event:resume-1"] });
    await again.next((m) => m.type === "subscribed");
    await publishPush(a.deps.kv, { id: ids[3]!, type: "event:registered", rooms: ["event:resume-1"], data: { n: 3 } });
    await again.next((m) => m.id === ids[3]);
    again.send({ type: "resume", after: ids[0] });
    await again.next((m) => m.type === "resumed");
    await new Promise((r) => setTimeout(r, 200));
    // ids[1] replayed, ids[2] is another room, ids[3] was already sent live.
    expect(pushesOf(again.messages).map((m) => m.id)).toEqual([ids[3], ids[1]]);
    // The very same push published twice (a notifier crash before its commit) is logged and sent once.
    const seq1 = await publishPush(a.deps.kv, { id: ids[1]!, type: "event:registered", rooms: ["event:resume-1"], data: { n: 1 } });
    const seq0 = await pushLogOf(a.deps.kv).position(ids[1]!);
    expect(seq0).toEqual({ kind: "found", seq: seq1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(pushesOf(again.messages).filter((m) => m.id === ids[1])).toHaveLength(1);
    again.close();
  });

  it("an unknown id, or one older than the retention, gets `resync` (then live pushes)", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const unknown = await connect(`${b.realtime.server.url}?resume=never-published&rooms=event:resume-2`);
    expect(await unknown.next((m) => m.type === "resync")).toMatchObject({ after: "never-published", reason: "UNKNOWN_ID" });
    await publishPush(a.deps.kv, { id: `live:${Date.now()}`, type: "event:attended", rooms: ["event:resume-2"], data: {} });
    await unknown.next((m) => m.type === "event:attended");
    unknown.close();

    // A one-second retention on the writer: the id is gone once it is older than that.
    const log = pushLogOf(a.deps.kv, { retentionSeconds: 1 });
    try {
      const old = `old:${Date.now()}`;
      await log.append({ id: old, type: "event:attended", rooms: ["event:resume-2"], data: {} });
      expect((await log.position(old)).kind).toBe("found");
      await new Promise((r) => setTimeout(r, 1_300));
      await log.append({ id: `newer:${Date.now()}`, type: "event:attended", rooms: ["event:resume-2"], data: {} });
      const expired = await connect(b.realtime.server.url);
      expired.send({ type: "resume", after: old, rooms: ["event:resume-2"] });
      const resync = await expired.next((m) => m.type === "resync");
      expect(["UNKNOWN_ID", "EXPIRED"]).toContain(resync.reason);
      expect(pushesOf(expired.messages)).toHaveLength(0);
      expired.close();
    } finally {
      pushLogOf(a.deps.kv, { retentionSeconds: 3600 });
    }
  });
});

describe("resume on the in-process adapter (one process, no Redis: npm run dev on PGlite)", () => {
  it("replays from the log kept in memory; unknown id → resync", async () => {
    const kv = new MemoryKeyValueStore("mem:");
    const server = await startRealtimeServer({
      kv,
      auth: { authenticateBearer: async () => Promise.reject(new Error("no")) },
      logger: createLogger({ level: "silent" }),
      port: 0,
    });
    try {
      const ids = [1, 2, 3, 4].map((n) => `mem:${n}`);
      for (const [i, id] of ids.entries())
        await publishPush(kv, { id, type: "nft:minted", rooms: [i === 2 ? "collection:other" : "collection:mem"], data: { i } });
      const socket = await connect(`${server.url}?resume=${ids[0]}&rooms=collection:mem`);
      await socket.next((m) => m.type === "resumed");
      expect(pushesOf(socket.messages).map((m) => m.id)).toEqual([ids[1], ids[3]]);
      await publishPush(kv, { id: "mem:5", type: "nft:minted", rooms: ["collection:mem"], data: {} });
      await socket.next((m) => m.id === "mem:5");
      socket.close();
      const lost = await connect(`${server.url}?resume=mem:nope`);
      expect(await lost.next((m) => m.type === "resync")).toMatchObject({ reason: "UNKNOWN_ID" });
      lost.close();
    } finally {
      await server.close();
      await kv.close();
    }
  });
});
