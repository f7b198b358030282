/**
 * Fresh metadata (issue 12 item 4) end to end: devnet + Ponder (Postgres) + our app, a BullMQ job
 * queue with its workers, the ERC-4906 follower and the realtime service in-process (stack.ts).
 * The collection's `setTokenURI` emits MetadataUpdate and `emitBatchMetadataUpdate` emits
 * BatchMetadataUpdate; the follower reads the indexed rows, the refresh-metadata job re-resolves
 * the tokens (tokenURI JSON + thumbnail from a local HTTP host), GET /nfts/:id shows the new name
 * and image, and `nft:metadata` reaches a WebSocket. POST /collections/{slug}/refresh runs as a job
 * with progress to completion, paced towards the metadata host; a non-admin gets 403.
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { buildApp } from "../../api/app.js";
import { MetadataFollower } from "../../jobs/metadataFollower.js";
import { type Push, onPush } from "../../realtime/publish.js";
import { createJobQueue } from "../../jobs/index.js";
import type { JobQueue } from "../../jobs/types.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type TestSocket, connect } from "../realtime/helpers.js";
import { type Stack, startStack } from "./stack.js";

const RATE = 4;
let s: Stack;
let jobs: JobQueue;
let follower: MetadataFollower;
let app: ReturnType<typeof buildApp>;
let socket: TestSocket;
let host: Server;
let base: string;
let adminToken: string;
let minterKey: string;
/** What the metadata host serves: bump `version` to "republish" every JSON. */
const served = { version: 1 };
/** Arrival times of requests at the metadata host (ms). */
const hits: number[] = [];
const hooked: Push[] = [];
let unhook: () => void;
const alice = accounts[1]!;

beforeAll(async () => {
  const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: "#3366ff" } })
    .png()
    .toBuffer();
  host = createServer((req, res) => {
    hits.push(Date.now());
    const meta = /^\/meta\/(\w+)\.json$/.exec(req.url ?? "");
    if (meta) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ name: `Fresh ${meta[1]} v${served.version}`, image: `${base}/img/${meta[1]}-${served.version}.png` }));
    }
    if (req.url?.startsWith("/img/")) {
      res.writeHead(200, { "content-type": "image/png" });
      return res.end(png);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
  const port = (host.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  s = await startStack({ nft: { fetchAllowHosts: [`127.0.0.1:${port}`], metadataRefreshRatePerSecond: RATE, refreshCooldownSeconds: 0 }, realtime: {} });
  // The job workers as createDependencies runs them: BullMQ on the test Redis prefix, the follower beside them.
  const config = {
    ...s.deps.config,
    redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    redisPrefix: (s.deps.kv as { prefix?: string }).prefix ?? "test:",
  };
  jobs = createJobQueue({ ...s.deps, config });
  await jobs.start();
  follower = new MetadataFollower({ indexed: s.indexed, store: s.deps.store, jobs, logger: s.deps.logger, pollMs: 100 }).start();
  app = buildApp({ ...s.deps, jobs });
  adminToken = await s.adminLogin();
  minterKey = await s.apiKey("minter", ["minter"]);
  unhook = onPush((push) => void hooked.push(push));
  socket = await connect(s.realtime.server.url);
  socket.send({ type: "subscribe", rooms: ["collection:cosmic"] });
  await socket.next((m) => m.type === "subscribed");
}, 240_000);

afterAll(async () => {
  unhook?.();
  socket?.close();
  await follower?.stop();
  await jobs?.close();
  await s?.stop();
  await new Promise((resolve) => host?.close(resolve));
});

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);
const signer = (i: number) => signerFor(chain(i), deployer.privateKey);
async function getJson(path: string, init?: RequestInit) {
  const res = await app.request(path, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
async function mintTo(i: number, count: number): Promise<{ id: string; tokenId: string }[]> {
  const res = await getJson(
    "/nfts",
    json({ collection: "cosmic", chainId: chain(i).chainId, recipients: Array(count).fill(alice.address) }, { "x-api-key": minterKey }),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.tokens;
}
const setUri = (i: number, tokenId: string, uri: string) =>
  signer(i).write({ address: cosmic(i).address, abi: CosmicONFT721Abi, functionName: "setTokenURI", args: [BigInt(tokenId), uri] });

describe("fresh metadata (ERC-4906)", () => {
  it("MetadataUpdate after setTokenURI: re-resolved, GET /nfts/:id shows the new name and image, nft:metadata pushed", async () => {
    const [t] = await mintTo(0, 1);
    await s.synced();
    // The follower has a cursor on every chain before the update (first start: no history).
    await waitUntil(async () => (await follower.tick()).leader, "follower leads");
    const receipt = await setUri(0, t!.tokenId, `${base}/meta/one.json`);
    const mined = Date.now();
    const push = await socket.next((m) => m.type === "nft:metadata" && m.data.id === t!.id, 30_000);
    console.log(`MetadataUpdate mined → nft:metadata on the socket: ${Date.now() - mined} ms (index, follower, job, fetch + thumbnail, push)`);
    expect(push.rooms).toEqual(expect.arrayContaining(["collection:cosmic"]));
    expect(push.data).toMatchObject({
      collection: "cosmic",
      tokenId: t!.tokenId,
      chainId: chain(0).chainId,
      status: "resolved",
      name: "Fresh one v1",
      image: `${base}/img/one-1.png`,
      error: null,
    });
    expect(push.data.cause).toMatchObject({ kind: "MetadataUpdate", chainId: chain(0).chainId, txHash: receipt.transactionHash });
    expect(push.data.thumbnail).toMatch(/^\/nfts\/images\/[0-9a-f]{64}\.webp$/);
    // The hook point (webhooks) saw the same envelope.
    expect(hooked.find((p) => p.id === push.id)).toMatchObject({ type: "nft:metadata", data: { id: t!.id } });

    const view = await waitUntil(
      async () => {
        const v = await getJson(`/nfts/${t!.id}`);
        return v.body.metadata?.onchain?.data?.name === "Fresh one v1" ? v.body : undefined;
      },
      "GET shows the re-resolved metadata",
      5_000,
    );
    expect(view.metadata.onchain).toMatchObject({ status: "resolved", tokenUri: `${base}/meta/one.json` });
    expect(view.metadata.merged.name).toBe("Fresh one v1");
    expect(view.image).toEqual({ original: `${base}/img/one-1.png`, thumbnail: push.data.thumbnail });
    const thumb = await app.request(view.image.thumbnail);
    expect(thumb.status).toBe(200);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(256);

    // A second update of the same token, its view hot in the memo: the read right after the push
    // shows it (the job dropped the memo entry and bumped the Redis cache version).
    for (let i = 0; i < 5; i++) expect((await getJson(`/nfts/${t!.id}`)).body.metadata.onchain.data.name).toBe("Fresh one v1");
    await setUri(0, t!.tokenId, `${base}/meta/two.json`);
    await socket.next((m) => m.type === "nft:metadata" && m.data.id === t!.id && m.data.name === "Fresh two v1", 30_000);
    expect((await getJson(`/nfts/${t!.id}`)).body.metadata.onchain.data.name).toBe("Fresh two v1");
  });

  it("BatchMetadataUpdate re-resolves every token of the range on the announcing chain", async () => {
    const tokens = await mintTo(1, 3);
    for (const [k, t] of tokens.entries()) await setUri(1, t.tokenId, `${base}/meta/b${k}.json`);
    for (const t of tokens) await socket.next((m) => m.type === "nft:metadata" && m.data.id === t.id && m.data.name?.endsWith("v1"), 30_000);
    served.version = 2; // the JSON behind the URIs is republished; the contract announces it
    const ids = tokens.map((t) => BigInt(t.tokenId));
    const receipt = await signer(1).write({
      address: cosmic(1).address,
      abi: CosmicONFT721Abi,
      functionName: "emitBatchMetadataUpdate",
      args: [ids[0]!, ids[2]!],
    });
    for (const [k, t] of tokens.entries()) {
      const push = await socket.next((m) => m.type === "nft:metadata" && m.data.id === t.id && m.data.name === `Fresh b${k} v2`, 30_000);
      expect(push.data.cause).toMatchObject({ kind: "BatchMetadataUpdate", txHash: receipt.transactionHash });
      expect(push.data.image).toBe(`${base}/img/b${k}-2.png`);
    }
    const view = (await getJson(`/nfts/${tokens[1]!.id}`)).body;
    expect(view.metadata.onchain.data.name).toBe("Fresh b1 v2");
  });

  it("collection refresh: a job with progress to completion, paced towards the metadata host; non-admin 403", async () => {
    const userToken = await s.login(alice.privateKey);
    const denied = await getJson("/collections/cosmic/refresh", { method: "POST", headers: s.bearer(userToken) });
    expect([denied.status, denied.body.error.code]).toEqual([403, "MISSING_ROLE"]);
    expect((await getJson("/collections/cosmic/refresh", { method: "POST", headers: { "x-api-key": minterKey } })).status).toBe(403);
    expect((await getJson("/collections/cosmic/refresh", { method: "POST" })).status).toBe(401);
    expect((await getJson("/collections/nope/refresh", { method: "POST", headers: s.bearer(adminToken) })).body.error.code).toBe("COLLECTION_NOT_FOUND");

    // More tokens on the host: 8 with http URIs (each a JSON and an image request when refreshed).
    const more = await mintTo(0, 4);
    for (const [k, t] of more.entries()) await setUri(0, t.tokenId, `${base}/meta/c${k}.json`);
    for (const t of more) await socket.next((m) => m.type === "nft:metadata" && m.data.id === t.id, 30_000);
    await s.synced();
    served.version = 3;
    const from = hits.length;

    const started = Date.now();
    const res = await getJson("/collections/cosmic/refresh", { method: "POST", headers: s.bearer(adminToken) });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.headers.get("location")).toBe(`/jobs/${res.body.job.id}`);
    expect(res.body).toMatchObject({ created: true, job: { type: "refresh-metadata", status: "queued" } });
    // A second call while it runs answers with the same job.
    const again = await getJson("/collections/cosmic/refresh", { method: "POST", headers: s.bearer(adminToken) });
    expect([again.status, again.body.job.id, again.body.created]).toEqual([202, res.body.job.id, false]);

    const seen: number[] = [];
    const done = await waitUntil(
      async () => {
        const job = (await getJson(`/jobs/${res.body.job.id}`, { headers: s.bearer(adminToken) })).body;
        if (typeof job.progress?.done === "number") seen.push(job.progress.done);
        return job.status === "completed" || job.status === "failed" ? job : undefined;
      },
      "refresh job finished",
      90_000,
    );
    const elapsed = Date.now() - started;
    expect(done.status, JSON.stringify(done)).toBe("completed");
    // Every token of the collection present on a chain: 1 + 3 + 4 minted here.
    expect(done.progress).toMatchObject({ total: 8, done: 8, resolved: 8, errors: 0, skipped: 0 });
    expect(done.result).toMatchObject({ total: 8, resolved: 8, errors: 0 });
    expect(
      seen.some((d) => d > 0 && d < 8),
      `progress seen along the way: ${seen.join(",")}`,
    ).toBe(true);
    // Its creator reads it; someone else gets 404.
    expect((await getJson(`/jobs/${res.body.job.id}`, { headers: s.bearer(userToken) })).status).toBe(404);

    // The host saw 16 requests (8 JSON + 8 images), at RATE per second.
    const window = hits.slice(from);
    expect(window.length).toBe(16);
    const maxPerSecond = Math.max(...window.map((t) => window.filter((u) => u >= t && u < t + 1000).length));
    const rate = (window.length - 1) / ((window[window.length - 1]! - window[0]!) / 1000);
    console.log(
      `collection refresh: 8 tokens, 16 requests in ${elapsed} ms; max ${maxPerSecond} requests in any 1 s window (limit ${RATE}/s), mean ${rate.toFixed(2)}/s`,
    );
    // Requests start on slots 1/RATE s apart; one started a few ms late can share a sliding second with RATE others.
    expect(maxPerSecond).toBeLessThanOrEqual(RATE + 1);
    expect(rate).toBeLessThanOrEqual(RATE * 1.05);
    expect(elapsed).toBeGreaterThanOrEqual(((16 - RATE) / RATE) * 1000);
    const view = (await getJson(`/nfts/${more[0]!.id}`)).body;
    expect(view.metadata.onchain.data.name).toBe("Fresh c0 v3");
  });
});
