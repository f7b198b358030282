/**
 * NFT, collection and chain routes end to end (devnet + Ponder on Postgres + our app in-process,
 * see stack.ts): idempotent mints through the API, the NFT view, metadata overrides (owner / other
 * / admin, invalid and oversized), tokenURI refresh with thumbnails and the SSRF guard, owner pages
 * while tokens arrive, collections and their profile, GET /chains.
 */
import fc from "fast-check";
import sharp from "sharp";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { type Stack, startStack } from "./stack.js";

let s: Stack;
let minterKey: string;
let adminToken: string;
const [alice, bob, carol] = [accounts[1]!, accounts[2]!, accounts[3]!];

beforeAll(async () => {
  s = await startStack();
  adminToken = await s.adminLogin();
  minterKey = await s.apiKey("minter", ["minter"]);
});
afterAll(async () => {
  await s?.stop();
});

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);
async function getJson(path: string, init?: RequestInit) {
  const res = await s.req(path, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
const mintReq = (body: object, key?: string) => json(body, { "x-api-key": minterKey, ...(key ? { "idempotency-key": key } : {}) });
const balanceOf = (i: number, owner: Address) =>
  signerFor(chain(i), deployer.privateKey).publicClient.readContract({
    address: cosmic(i).address,
    abi: CosmicONFT721Abi,
    functionName: "balanceOf",
    args: [owner],
  });

describe("NFT service", () => {
  let aliceId: string;

  it("mints through the API; a repeated Idempotency-Key mints once", async () => {
    const before = await balanceOf(0, alice.address);
    const body = { collection: "cosmic", chainId: chain(0).chainId, recipients: [alice.address.toLowerCase()] };
    // Concurrent retries of one request plus a late retry: exactly one mint.
    const results = await Promise.all([1, 2, 3].map(() => getJson("/nfts", mintReq(body, "order-42"))));
    const late = await getJson("/nfts", mintReq(body, "order-42"));
    const statuses = [...results, late].map((r) => r.status);
    expect(statuses.filter((st) => st === 201)).toHaveLength(1);
    expect(statuses.every((st) => st === 201 || st === 200 || st === 409)).toBe(true);
    const first = results.find((r) => r.status === 201)!.body;
    expect(late.status).toBe(200);
    expect(late.headers.get("idempotent-replayed")).toBe("true");
    expect(late.body).toEqual(first);
    expect(first).toMatchObject({ collection: "cosmic", chainId: chain(0).chainId, contract: cosmic(0).address, tokens: [{ to: alice.address }] });
    expect(BigInt(first.tokens[0].tokenId) >> 64n).toBe(BigInt(chain(0).eid));
    expect(await balanceOf(0, alice.address)).toBe(before + 1n);
    aliceId = first.tokens[0].id;

    const reused = await getJson("/nfts", mintReq({ ...body, recipients: [bob.address] }, "order-42"));
    expect([reused.status, reused.body.error.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
    expect((await getJson("/nfts", json(body))).status).toBe(401);
    const userToken = await s.login(alice.privateKey);
    expect((await getJson("/nfts", json(body, s.bearer(userToken)))).body.error.code).toBe("MISSING_ROLE");
    expect((await getJson("/nfts", mintReq({ ...body, chainId: 1 }))).body.error.code).toBe("UNKNOWN_CHAIN");
    expect((await getJson("/nfts", mintReq({ ...body, collection: "legacy", chainId: chain(0).chainId }))).body.error.code).toBe("NOT_MINTABLE");
    expect((await getJson("/nfts", mintReq({ ...body, recipients: [] }))).status).toBe(400);
  });

  it("batch mints distinct ids; the NFT view shows chain, owner, transfers", async () => {
    const res = await getJson("/nfts", mintReq({ collection: "cosmic", chainId: chain(1).chainId, recipients: [alice.address, bob.address, bob.address] }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ids = res.body.tokens.map((t: { tokenId: string }) => BigInt(t.tokenId));
    expect(new Set(ids).size).toBe(3);
    await s.synced();
    const view = await getJson(`/nfts/${res.body.tokens[1].id}`);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body).toMatchObject({
      id: res.body.tokens[1].id,
      state: "on_chain",
      chainId: chain(1).chainId,
      originChainId: chain(1).chainId,
      owner: bob.address,
      contract: cosmic(1).address,
      consistent: true,
      bridge: null,
      transfers: [{ kind: "mint", to: bob.address, txHash: res.body.txHash }],
    });
    expect((await getJson("/nfts/cosmic:999999")).body.error.code).toBe("NFT_NOT_FOUND");
    expect((await getJson("/nfts/not-an-id")).status).toBe(400);
  });

  it("metadata override: owner yes (versioned), other address 403, admin yes; invalid 400, oversized 422", async () => {
    await s.synced();
    const aliceToken = await s.login(alice.privateKey);
    const bobToken = await s.login(bob.privateKey);
    const put = (token: string, body: unknown) =>
      getJson(`/nfts/${aliceId}/metadata`, { method: "PUT", headers: { "content-type": "application/json", ...s.bearer(token) }, body: JSON.stringify(body) });
    // Read first (fills the per-process memo and its serialised answer); the read after a write shows it at once.
    expect((await getJson(`/nfts/${aliceId}`)).body.metadata.override).toBeNull();
    const v1 = await put(aliceToken, { name: "Alice's", description: "first", attributes: [{ trait_type: "level", value: 1 }] });
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect((await getJson(`/nfts/${aliceId}`)).body.metadata.override).toMatchObject({ version: 1, data: { name: "Alice's" } });
    expect(v1.body).toMatchObject({ version: 1, updatedBy: alice.address });
    expect((await put(aliceToken, { name: "Alice's v2", image: "ipfs://bafyimage/1.png" })).body.version).toBe(2);
    const denied = await put(bobToken, { name: "mine now" });
    expect([denied.status, denied.body.error.code]).toEqual([403, "NOT_OWNER"]);
    expect((await put(adminToken, { description: "moderated" })).body.version).toBe(3);

    expect((await put(aliceToken, { name: "x", unknown: 1 })).status).toBe(400);
    expect((await put(aliceToken, { image: "javascript:alert(1)" })).status).toBe(400);
    expect((await put(aliceToken, {})).status).toBe(400);
    expect((await put(aliceToken, { attributes: [{ trait_type: "a", value: { nested: true } }] })).status).toBe(400);
    const big = await put(aliceToken, { attributes: Array.from({ length: 60 }, (_, i) => ({ trait_type: `t${i}`, value: "v".repeat(400) })) });
    expect([big.status, big.body.error.code]).toEqual([422, "METADATA_TOO_LARGE"]);
    const res = await s.req(`/nfts/${aliceId}/metadata`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...s.bearer(aliceToken) },
      body: "{not json",
    });
    expect(res.status).toBe(400);

    const view = (await getJson(`/nfts/${aliceId}`)).body;
    expect(view.metadata.override).toMatchObject({ version: 3, data: { description: "moderated" }, updatedBy: s.admin.address });
    expect(view.metadata.merged).toMatchObject({ description: "moderated" });
    expect(view.image.original).toBeNull();
    const history = (await getJson(`/nfts/${aliceId}/metadata/history`)).body.items;
    expect(history.map((h: { version: number }) => h.version)).toEqual([3, 2, 1]);
    expect(history[1].metadata).toMatchObject({ image: "ipfs://bafyimage/1.png" });
  });

  it("refresh resolves a data: tokenURI and thumbnails its image; cooldown 429; SSRF targets are refused", async () => {
    const signer = signerFor(chain(0), deployer.privateKey);
    const tokenId = BigInt(aliceId.split(":")[1]!);
    const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: "#ff8800" } })
      .png()
      .toBuffer();
    const meta = { name: "On-chain name", description: "from tokenURI", image: `data:image/png;base64,${png.toString("base64")}` };
    await signer.write({
      address: cosmic(0).address,
      abi: CosmicONFT721Abi,
      functionName: "setTokenURI",
      args: [tokenId, `data:application/json;base64,${Buffer.from(JSON.stringify(meta)).toString("base64")}`],
    });
    const refreshed = await getJson(`/nfts/${aliceId}/metadata/refresh`, { method: "POST" });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body.onchain).toMatchObject({ status: "resolved", data: { name: "On-chain name" }, error: null, chainId: chain(0).chainId });
    const thumb = refreshed.body.image.thumbnail as string;
    expect(thumb).toMatch(/^\/nfts\/images\/[0-9a-f]{64}\.webp$/);
    const img = await s.req(thumb);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/webp");
    expect(img.headers.get("cache-control")).toContain("immutable");
    expect((await sharp(Buffer.from(await img.arrayBuffer())).metadata()).width).toBe(256);
    expect((await s.req(`/nfts/images/${"0".repeat(64)}.webp`)).status).toBe(404);

    const again = await getJson(`/nfts/${aliceId}/metadata/refresh`, { method: "POST" });
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after")).toBeTruthy();

    // The view merges: the override (v3) wins where it sets a field; on-chain fills the rest.
    const view = (await getJson(`/nfts/${aliceId}`)).body;
    expect(view.metadata.onchain.data.name).toBe("On-chain name");
    expect(view.metadata.merged).toMatchObject({ name: "On-chain name", description: "moderated" });

    // SSRF: tokenURIs pointing at the metadata service, loopback, a private network, or redirecting there.
    for (const uri of ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432/", "http://10.0.0.7/meta.json", "http://localhost:6379/"]) {
      await signer.write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "setTokenURI", args: [tokenId, uri] });
      await new Promise((r) => setTimeout(r, 2100)); // refresh cooldown (2 s in this stack)
      const r = await getJson(`/nfts/${aliceId}/metadata/refresh`, { method: "POST" });
      expect(r.status).toBe(200);
      expect(r.body.onchain).toMatchObject({ status: "error", data: null });
      expect(r.body.onchain.error, uri).toMatch(/^SSRF_BLOCKED/);
    }
  });

  it("owner query paginates without gaps or duplicates while new tokens arrive", async () => {
    const first = await getJson("/nfts", mintReq({ collection: "cosmic", chainId: chain(0).chainId, recipients: Array(12).fill(carol.address) }));
    const second = await getJson("/nfts", mintReq({ collection: "cosmic", chainId: chain(1).chainId, recipients: Array(12).fill(carol.address) }));
    const initial = [...first.body.tokens, ...second.body.tokens].map((t: { id: string }) => t.id);
    await s.synced();
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const res: any = await getJson(`/nfts/owner/${carol.address.toLowerCase()}?limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((i: { id: string; owner: string }) => (expect(i.owner).toBe(carol.address), i.id)));
      cursor = res.body.nextCursor;
      // New tokens land between pages, on both chains.
      if (page++ < 3) {
        await getJson("/nfts", mintReq({ collection: "cosmic", chainId: chain(page % 2).chainId, recipients: [carol.address, carol.address] }));
        await s.synced();
      }
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
    const onlyB = (await getJson(`/nfts/owner/${carol.address}?chain=${chain(1).chainId}&limit=200`)).body.items;
    expect(onlyB.length).toBeGreaterThanOrEqual(12);
    expect(onlyB.every((i: { chainId: number }) => i.chainId === chain(1).chainId)).toBe(true);
    expect((await getJson(`/nfts/owner/${carol.address}?limit=201`)).status).toBe(400);
    expect((await getJson(`/nfts/owner/${carol.address}?cursor=bm9wZQ`)).body.error.code).toBe("INVALID_CURSOR");
    expect((await getJson("/nfts/owner/0x123")).status).toBe(400);
  });

  it("collections: supply per chain, holders, bridges; admin-only profile", async () => {
    const list = (await getJson("/collections")).body.items;
    const c = list.find((x: { slug: string }) => x.slug === "cosmic");
    expect(c.deployments).toHaveLength(2);
    expect(c.supply).toBeGreaterThan(30);
    const one = await getJson("/collections/cosmic");
    expect(one.body).toMatchObject({ slug: "cosmic", holders: 3, bridges: { sent: 0 } });
    expect(one.body.deployments.map((d: { chainId: number }) => d.chainId)).toEqual([chain(0).chainId, chain(1).chainId]);
    // Its LayerZero pathways as the chains hold them, both directions.
    const settings = s.deployments.layerZeroSettings;
    expect(one.body.pathways).toHaveLength(2);
    for (const [from, to] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const p = one.body.pathways.find((x: { srcChainId: number }) => x.srcChainId === chain(from).chainId);
      const dvns = (i: number) =>
        chain(i)
          .layerZero.dvns.map((d) => d.address)
          .sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
      expect(p).toMatchObject({
        dstChainId: chain(to).chainId,
        dstEid: chain(to).eid,
        error: null,
        enforcedOptions: { lzReceiveGas: String(settings.lzReceiveGas) },
        send: {
          library: chain(from).layerZero.sendUln302,
          defaultLibrary: true,
          executor: chain(from).layerZero.executor.address,
          confirmations: settings.confirmations,
          requiredDVNs: dvns(from),
          optionalDVNs: [],
        },
        receive: {
          library: chain(to).layerZero.receiveUln302,
          defaultLibrary: true,
          confirmations: settings.confirmations,
          requiredDVNs: dvns(to),
          optionalDVNs: [],
        },
      });
      expect(p.peer.toLowerCase()).toContain(collectionOn(s.deployments, "cosmic", chain(to).chainId).address.slice(2).toLowerCase());
    }
    expect((await getJson("/collections/nope")).status).toBe(404);
    const body = JSON.stringify({ description: "Omnichain art", links: { twitter: "https://x.com/cosmic" } });
    const aliceToken = await s.login(alice.privateKey);
    expect(
      (await getJson("/collections/cosmic/profile", { method: "PUT", headers: { "content-type": "application/json", ...s.bearer(aliceToken) }, body })).status,
    ).toBe(403);
    const put = await getJson("/collections/cosmic/profile", { method: "PUT", headers: { "content-type": "application/json", ...s.bearer(adminToken) }, body });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await getJson("/collections/cosmic")).body.profile).toMatchObject({ description: "Omnichain art", links: { twitter: "https://x.com/cosmic" } });
  });

  it("GET /chains: ids, EIDs, endpoints, indexed block, head and lag", async () => {
    await s.synced();
    const res = await getJson("/chains");
    expect(res.body.items).toHaveLength(2);
    for (const [i, item] of res.body.items.entries()) {
      expect(item).toMatchObject({ chainId: chain(i).chainId, eid: chain(i).eid, endpoint: chain(i).endpoint });
      expect(item.headBlock).toBeGreaterThan(0);
      expect(item.indexedBlock).toBeGreaterThan(0);
      expect(item.lagBlocks).toBeGreaterThanOrEqual(0);
      expect(item.collections.map((x: { slug: string }) => x.slug).sort()).toEqual(["cosmic", "legacy"]);
    }
  });

  it("random input on every NFT, collection and bridge route: never a 5xx, always a JSON error", async () => {
    const aliceToken = await s.login(alice.privateKey);
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom("cosmic:1", `cosmic:${aliceId.split(":")[1]}`, "0x" + "f".repeat(64), alice.address, "-1", "1e99", "%00", "../../etc/passwd", "null"),
    );
    const enc = (v: string) => encodeURIComponent(v);
    const routes = fc.oneof(
      text.map((v) => ["GET", `/nfts/${enc(v)}`, undefined] as const),
      fc.tuple(text, text, text).map(([a, c, l]) => ["GET", `/nfts/owner/${enc(a)}?cursor=${enc(c)}&limit=${enc(l)}`, undefined] as const),
      text.map((v) => ["GET", `/bridge/${enc(v)}`, undefined] as const),
      fc.tuple(text, text).map(([a, c]) => ["GET", `/bridge/history/${enc(a)}?cursor=${enc(c)}`, undefined] as const),
      fc
        .tuple(text, text, fc.integer(), fc.integer())
        .map(([col, id, a, b]) => ["GET", `/bridge/estimate?collection=${enc(col)}&tokenId=${enc(id)}&srcChain=${a}&dstChain=${b}`, undefined] as const),
      text.map((v) => ["GET", `/collections/${enc(v)}`, undefined] as const),
      fc.jsonValue().map((b) => ["POST", "/nfts", b] as const),
      fc
        .record({ collection: text, chainId: fc.oneof(fc.integer(), fc.constant(chain(0).chainId)), recipients: fc.array(text, { maxLength: 3 }) })
        .map((b) => ["POST", "/nfts", b] as const),
      fc.jsonValue().map((b) => ["PUT", `/nfts/${aliceId}/metadata`, b] as const),
      fc.record({ name: fc.jsonValue(), attributes: fc.jsonValue() }).map((b) => ["PUT", `/nfts/${aliceId}/metadata`, b] as const),
      fc
        .record({
          collection: text,
          tokenId: text,
          srcChainId: fc.oneof(fc.integer(), fc.constant(chain(0).chainId)),
          dstChainId: fc.oneof(fc.integer(), fc.constant(chain(1).chainId)),
        })
        .map((b) => ["POST", "/bridge", b] as const),
      fc.jsonValue().map((b) => ["POST", "/bridge/00000000-0000-4000-8000-000000000000/tx", b] as const),
    );
    await fc.assert(
      fc.asyncProperty(routes, async ([method, p, body]) => {
        const headers: Record<string, string> = {
          "x-api-key": minterKey,
          ...(method === "PUT" || p.startsWith("/bridge") ? { authorization: `Bearer ${aliceToken}` } : {}),
        };
        if (headers.authorization) delete headers["x-api-key"];
        const res = await s.req(p, {
          method,
          headers: { "content-type": "application/json", ...headers },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const raw = await res.text();
        expect(res.status, `${method} ${p} ${JSON.stringify(body)} → ${raw}`).toBeLessThan(500);
        if (res.status >= 400) expect(JSON.parse(raw).error.code).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 300 },
    );
  });

  it("documents every route in /openapi.json", async () => {
    const doc = (await getJson("/openapi.json")).body;
    for (const p of [
      "/nfts",
      "/nfts/{id}",
      "/nfts/owner/{address}",
      "/nfts/{id}/metadata",
      "/nfts/{id}/metadata/refresh",
      "/bridge",
      "/bridge/estimate",
      "/bridge/{operationId}",
      "/bridge/history/{address}",
      "/collections",
      "/collections/{slug}",
      "/chains",
    ])
      expect(doc.paths[p], p).toBeTruthy();
  });
});
