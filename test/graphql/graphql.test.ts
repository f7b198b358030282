/**
 * GraphQL end to end (devnet 2 chains + relayer + Ponder on Postgres + our app in-process, the
 * stack of test/nfts): the seed's two queries before and after a bridge and a metadata override,
 * the mutations (bridge prepare, metadata, event registration) with the REST codes, auth-only
 * fields, a seed + index query in one request, the cost budget at the served endpoint, DataLoader
 * batching (SQL statements counted) and the REST cache shared with REST, the /sql guard of the
 * Ponder child on Postgres.
 */
import pg from "pg";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { buildApp } from "../../api/app.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { MemoryKeyValueStore } from "../../infra/redis.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type Stack, startStack } from "../nfts/stack.js";
import { FAN_OUT, readmeOperations } from "./queries.js";

let s: Stack;
let adminToken: string;
let minterKey: string;
const [alice, bob, carol] = [accounts[1]!, accounts[2]!, accounts[3]!];

beforeAll(async () => {
  s = await startStack();
  adminToken = await s.adminLogin();
  minterKey = await s.apiKey("minter", ["minter"]);
});
afterAll(async () => {
  await s?.stop();
});

type Gql = { status: number; body: { data?: any; errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[] } };
async function gql(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}, app = s.app): Promise<Gql> {
  const res = await app.request("/graphql", json({ query, variables }, headers));
  return { status: res.status, body: (await res.json()) as Gql["body"] };
}
const ok = (r: Gql) => {
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  return r.body.data;
};
const code = (r: Gql) => r.body.errors?.[0]?.extensions;

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);
const [NFT_QUERY, OWNER_QUERY, COMBINED_QUERY] = (() => {
  const ops = readmeOperations();
  return [
    ops.find((o) => o.startsWith("query Nft("))!,
    ops.find((o) => o.startsWith("query NftsByOwner("))!,
    ops.find((o) => o.startsWith("query NftWithHistory("))!,
  ];
})();

/**
 * Counts SQL statements sent by this process (every pool: index replica and off-chain store), apart
 * from the index checkpoint read (memoised 250 ms per process: in or out of a request by timing).
 */
async function countQueries<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
  const original = pg.Client.prototype.query;
  let queries = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === "string" ? args[0] : String((args[0] as { text?: unknown } | undefined)?.text ?? "");
    if (!text.includes("_ponder_checkpoint")) queries++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await fn(), queries };
  } finally {
    pg.Client.prototype.query = original;
  }
}

let nftId: string;
let tokenId: bigint;

describe("GraphQL: the seed's schema over the REST services", () => {
  it("the seed's two queries return name, image, metadata, owner and chain of a minted token", async () => {
    tokenId = tokenIdInRange(chain(0).eid, 700n);
    nftId = `cosmic:${tokenId}`;
    const signer = signerFor(chain(0), deployer.privateKey);
    await signer.write({ address: cosmic(0).address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, tokenId] });
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#3355ff" } })
      .png()
      .toBuffer();
    const meta = {
      name: "Comet",
      description: "a token with on-chain metadata",
      image: `data:image/png;base64,${png.toString("base64")}`,
      attributes: [{ trait_type: "speed", value: 9 }],
    };
    await signer.write({
      address: cosmic(0).address,
      abi: CosmicONFT721Abi,
      functionName: "setTokenURI",
      args: [tokenId, `data:application/json;base64,${Buffer.from(JSON.stringify(meta)).toString("base64")}`],
    });
    await s.synced();
    expect((await s.req(`/nfts/${nftId}/metadata/refresh`, { method: "POST" })).status).toBe(200);

    const one = ok(await gql(NFT_QUERY, { id: nftId })).nft;
    expect(one).toMatchObject({
      id: nftId,
      name: "Comet",
      description: "a token with on-chain metadata",
      owner: alice.address,
      state: "ON_CHAIN",
      chain: { id: chain(0).chainId, name: chain(0).name, eid: chain(0).eid },
      metadata: { name: "Comet", attributes: [{ trait_type: "speed", value: 9 }] },
      bridge: null,
    });
    expect(one.image).toMatch(/^data:image\/png;base64,/);
    expect(one.thumbnail).toMatch(/^\/nfts\/images\/[0-9a-f]{64}\.webp$/);
    expect(Date.parse(one.createdAt)).toBeGreaterThan(0);
    expect(Date.parse(one.updatedAt)).toBeGreaterThanOrEqual(Date.parse(one.createdAt));
    // The same view as REST's GET /nfts/{id}.
    const rest = (await (await s.req(`/nfts/${nftId}`)).json()) as any;
    expect([rest.owner, rest.chainId, rest.metadata.merged.name, rest.createdAt]).toEqual([one.owner, one.chain.id, one.name, one.createdAt]);

    const mine = ok(await gql(OWNER_QUERY, { owner: alice.address.toLowerCase() })).nftsByOwner;
    expect(mine).toContainEqual(
      expect.objectContaining({ id: nftId, name: "Comet", owner: alice.address, chain: { id: chain(0).chainId, name: chain(0).name } }),
    );
    const byName = ok(await gql(OWNER_QUERY, { owner: alice.address, chain: chain(0).name })).nftsByOwner;
    expect(byName.map((n: { id: string }) => n.id)).toContain(nftId);
    expect(ok(await gql(OWNER_QUERY, { owner: alice.address, chain: chain(1).chainId })).nftsByOwner.map((n: { id: string }) => n.id)).not.toContain(nftId);
    expect(code(await gql(OWNER_QUERY, { owner: alice.address, chain: 1 }))).toMatchObject({ code: "UNKNOWN_CHAIN", kind: "UNPROCESSABLE" });
    expect(ok(await gql('{ nft(id: "cosmic:12345") { id } }')).nft).toBeNull();
  });

  it("after a bridge prepared through GraphQL: in flight to the destination, then there, owned by the recipient", async () => {
    const aliceToken = await s.login(alice.privateKey);
    const bobToken = await s.login(bob.privateKey);
    const PREPARE = "mutation($i: PrepareBridgeInput!) { prepareBridge(input: $i) { operationId status fee transaction approval } }";
    const input = { collection: "cosmic", tokenId: tokenId.toString(), srcChainId: chain(0).chainId, dstChainId: chain(1).chainId, recipient: bob.address };
    // The REST codes: not the owner, not signed in, bad input.
    expect(code(await gql(PREPARE, { i: input }, s.bearer(bobToken)))).toMatchObject({ code: "NOT_TOKEN_OWNER", kind: "FORBIDDEN", status: 403 });
    expect(code(await gql(PREPARE, { i: input }))).toMatchObject({ code: "UNAUTHENTICATED", kind: "UNAUTHENTICATED" });
    expect(code(await gql(PREPARE, { i: { ...input, tokenId: "nope" } }, s.bearer(aliceToken)))).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(code(await gql(PREPARE, { i: { ...input, dstChainId: chain(0).chainId } }, s.bearer(aliceToken)))).toMatchObject({ code: "SAME_CHAIN" });

    await s.pauseWorkers();
    const prepared = ok(await gql(PREPARE, { i: input }, s.bearer(aliceToken))).prepareBridge;
    expect(prepared).toMatchObject({ status: "PREPARED", approval: null, transaction: { to: cosmic(0).address, chainId: chain(0).chainId } });
    const bridgeQuery =
      "query($id: ID!) { bridge(id: $id) { operationId status stuck { since reason } stale srcChain { id } dstChain { id } sender recipient steps } }";
    expect(ok(await gql(bridgeQuery, { id: prepared.operationId })).bridge).toMatchObject({ status: "PREPARED", operationId: prepared.operationId });
    const txHash = await s.signAndSend(alice.privateKey, prepared.transaction);
    await s.synced();
    const flying = await waitUntil(async () => {
      const n = ok(await gql(NFT_QUERY, { id: nftId })).nft;
      return n.state === "IN_FLIGHT" ? n : undefined;
    }, "the NFT in flight");
    expect(flying).toMatchObject({
      chain: { id: chain(1).chainId },
      owner: bob.address,
      bridge: { status: "INFLIGHT", srcChain: { id: chain(0).chainId }, dstChain: { id: chain(1).chainId } },
    });

    await s.resumeWorkers();
    await s.relayed();
    await s.synced();
    const landed = await waitUntil(async () => {
      const n = ok(await gql(NFT_QUERY, { id: nftId })).nft;
      return n.state === "ON_CHAIN" && n.chain.id === chain(1).chainId ? n : undefined;
    }, "the NFT on the destination");
    expect(landed).toMatchObject({ name: "Comet", owner: bob.address, metadata: { name: "Comet" }, bridge: { status: "DELIVERED" } });
    // BridgeOperation is GET /bridge/{id}, field for field.
    const byTx = ok(await gql(bridgeQuery, { id: txHash })).bridge;
    const rest = (await (await s.req(`/bridge/${txHash}`)).json()) as any;
    expect(byTx).toMatchObject({ status: rest.status, operationId: rest.operationId, sender: rest.sender, recipient: rest.recipient, steps: rest.steps });
    expect(byTx.status).toBe("DELIVERED");

    const bobs = ok(await gql(OWNER_QUERY, { owner: bob.address, chain: chain(1).chainId })).nftsByOwner;
    expect(bobs).toContainEqual(expect.objectContaining({ id: nftId, owner: bob.address, chain: { id: chain(1).chainId, name: chain(1).name } }));
    expect(ok(await gql(OWNER_QUERY, { owner: alice.address })).nftsByOwner.map((n: { id: string }) => n.id)).not.toContain(nftId);
  });

  it("after a metadata override through GraphQL: the override's fields win; only the current owner (or an admin) may set it", async () => {
    const UPDATE = "mutation($id: ID!, $m: JSONObject!) { updateNftMetadata(id: $id, metadata: $m) { id version metadata updatedBy updatedAt } }";
    const aliceToken = await s.login(alice.privateKey);
    const bobToken = await s.login(bob.privateKey);
    expect(code(await gql(UPDATE, { id: nftId, m: { name: "Mine" } }, s.bearer(aliceToken)))).toMatchObject({ code: "NOT_OWNER", kind: "FORBIDDEN" });
    expect(code(await gql(UPDATE, { id: nftId, m: { name: "x", unknown: 1 } }, s.bearer(bobToken)))).toMatchObject({
      code: "VALIDATION_FAILED",
      kind: "BAD_REQUEST",
    });
    const v1 = ok(
      await gql(
        UPDATE,
        { id: nftId, m: { name: "Comet, renamed", image: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/comet.png" } },
        s.bearer(bobToken),
      ),
    ).updateNftMetadata;
    expect(v1).toMatchObject({ id: nftId, version: 1, updatedBy: bob.address });
    const after = ok(await gql(NFT_QUERY, { id: nftId })).nft;
    expect(after).toMatchObject({
      name: "Comet, renamed",
      description: "a token with on-chain metadata",
      owner: bob.address,
      chain: { id: chain(1).chainId },
      metadata: { name: "Comet, renamed", attributes: [{ trait_type: "speed", value: 9 }] },
    });
    expect(after.image).toBe("https://ipfs.io/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/comet.png");
    expect(after.thumbnail).toBeNull();
    expect(Date.parse(after.updatedAt)).toBe(Date.parse(v1.updatedAt));
    const listed = ok(await gql(OWNER_QUERY, { owner: bob.address })).nftsByOwner.find((n: { id: string }) => n.id === nftId);
    expect(listed).toMatchObject({ name: "Comet, renamed", metadata: { name: "Comet, renamed" } });
    // The REST history shows the GraphQL write (same service).
    const history = (await (await s.req(`/nfts/${nftId}/metadata/history`)).json()) as any;
    expect(history.items[0]).toMatchObject({ version: 1, updatedBy: bob.address });
  });

  it("auth-only fields: `me` (UNAUTHENTICATED / FORBIDDEN for an API key), organizer-only attendees, registration for the signed-in wallet", async () => {
    const bobToken = await s.login(bob.privateKey);
    const aliceToken = await s.login(alice.privateKey);
    expect(code(await gql("{ me { address } }"))).toMatchObject({ code: "UNAUTHENTICATED", kind: "UNAUTHENTICATED", status: 401 });
    expect(code(await gql("{ me { address } }", undefined, { "x-api-key": minterKey }))).toMatchObject({
      code: "USER_SESSION_REQUIRED",
      kind: "FORBIDDEN",
      status: 403,
    });
    const me = ok(await gql("{ me { address roles nfts(first: 10) { nodes { id owner } pageInfo { hasNextPage } } } }", undefined, s.bearer(bobToken))).me;
    expect(me.address).toBe(bob.address);
    expect(me.nfts.nodes).toContainEqual({ id: nftId, owner: bob.address });

    const now = Date.now();
    const created = await s.req(
      "/events",
      json(
        {
          name: "Launch",
          startsAt: new Date(now + 3600_000).toISOString(),
          endsAt: new Date(now + 7200_000).toISOString(),
          capacity: 10,
          collection: "cosmic",
          chainId: chain(0).chainId,
        },
        s.bearer(adminToken),
      ),
    );
    expect(created.status).toBe(201);
    const eventId = ((await created.json()) as { id: string }).id;
    const REGISTER = "mutation($e: ID!) { registerForEvent(eventId: $e) { eventId address ticketId ticket qr } }";
    expect(code(await gql(REGISTER, { e: eventId }))).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(code(await gql(REGISTER, { e: "0b9f1f9e-3f2c-4a55-9d1e-8f3a2b7c6d5e" }, s.bearer(aliceToken)))).toMatchObject({
      code: "EVENT_NOT_FOUND",
      kind: "NOT_FOUND",
    });
    const ticket = ok(await gql(REGISTER, { e: eventId }, s.bearer(aliceToken))).registerForEvent;
    expect(ticket).toMatchObject({ eventId, address: alice.address });
    expect(ticket.qr.payload).toMatch(/^CL1:/);
    // Idempotent, as POST /events/{id}/register.
    expect(ok(await gql(REGISTER, { e: eventId }, s.bearer(aliceToken))).registerForEvent.ticketId).toBe(ticket.ticketId);

    const EVENT = "query($e: ID!) { event(id: $e) { id name counts { registered attended minted } attendees { address } } }";
    const asAlice = await gql(EVENT, { e: eventId }, s.bearer(aliceToken));
    expect(asAlice.body.data.event).toBeNull(); // attendees is non-null: its error nulls the event
    expect(asAlice.body.errors?.[0]).toMatchObject({ path: ["event", "attendees"], extensions: { code: "NOT_EVENT_ORGANIZER", kind: "FORBIDDEN" } });
    expect(code(await gql(EVENT, { e: eventId }))).toMatchObject({ kind: "UNAUTHENTICATED" });
    const asAdmin = ok(await gql(EVENT, { e: eventId }, s.bearer(adminToken))).event;
    expect(asAdmin).toMatchObject({ id: eventId, name: "Launch", counts: { registered: 1, attended: 0, minted: 0 }, attendees: [{ address: alice.address }] });
    const mine = ok(await gql("query($e: ID!) { event(id: $e) { myRegistration { address attendedAt } } }", { e: eventId }, s.bearer(aliceToken))).event;
    expect(mine.myRegistration).toEqual({ address: alice.address, attendedAt: null });
    expect(
      ok(await gql("query($e: ID!) { event(id: $e) { myRegistration { address } } }", { e: eventId }, s.bearer(bobToken))).event.myRegistration,
    ).toBeNull();
  });

  it("seed and generated index types combine in one request (README's NftWithHistory, plus the raw tables)", async () => {
    const data = ok(
      await gql(
        `${COMBINED_QUERY.replace("_meta { status }", `_meta { status } tokens(where: { collection: "cosmic", tokenId: "${tokenId}" }) { items { chainId state owner } } chains { id indexedBlock headBlock lagBlocks }`)}`,
        { id: nftId },
      ),
    );
    expect(data.nft.owner).toBe(bob.address);
    const rows = data.nft.tokens as { chainId: number; state: string; transfers: { items: { kind: string }[] } }[];
    expect(rows.map((r) => [r.chainId, r.state])).toEqual([
      [chain(0).chainId, "bridged_out"],
      [chain(1).chainId, "present"],
    ]);
    expect(rows[0]!.transfers.items.map((t) => t.kind)).toEqual(["mint", "bridge_out"]);
    expect(rows[1]!.transfers.items.map((t) => t.kind)).toEqual(["bridge_in"]);
    expect(data.tokens.items).toHaveLength(2);
    expect(Object.keys(data._meta.status)).toHaveLength(2);
    expect(data.chains).toHaveLength(2);
    expect(data.chains[0].indexedBlock).toBeGreaterThan(0);
    expect(data.chains[0].lagBlocks).toBeGreaterThanOrEqual(0);
  });

  it("cost budget at the served endpoint: the fan-out query is refused with a code before any SQL; the README's queries answer", async () => {
    const { result, queries } = await countQueries(() => gql(FAN_OUT));
    expect(result.body.data ?? null).toBeNull();
    expect(code(result)).toMatchObject({ code: "QUERY_TOO_COSTLY" });
    expect(queries).toBe(0);
    ok(await gql(NFT_QUERY, { id: nftId }));
    ok(await gql(OWNER_QUERY, { owner: bob.address }));
    ok(await gql(COMBINED_QUERY, { id: nftId }));
  });

  it("DataLoader: 50 NFTs in a request cost as many SQL statements as 5 (one per table), and share REST's cache", async () => {
    const minted = await s.req(
      "/nfts",
      json({ collection: "cosmic", chainId: chain(0).chainId, recipients: Array.from({ length: 50 }, () => carol.address) }, { "x-api-key": minterKey }),
    );
    expect(minted.status).toBe(201);
    const ids = ((await minted.json()) as { tokens: { id: string }[] }).tokens.map((t) => t.id);
    await s.synced();
    await waitUntil(
      async () => ok(await gql("query($o: String!) { nftsByOwner(owner: $o, first: 50) { id } }", { o: carol.address })).nftsByOwner.length === 50,
      "50 NFTs indexed",
    );
    const page = (n: number) =>
      `query($o: String!) { nftsByOwner(owner: $o, first: ${n}) { id name image owner metadata createdAt chain { id name } tokens { chainId state } } }`;
    // Fresh apps: empty per-process memo, empty cache (in-process store), so every NFT is a miss.
    const fresh = () => buildApp({ ...s.deps, kv: new MemoryKeyValueStore("dl:") });
    const five = await countQueries(() => gql(page(5), { o: carol.address }, {}, fresh()));
    const fifty = await countQueries(() => gql(page(50), { o: carol.address }, {}, fresh()));
    expect(ok(fifty.result).nftsByOwner).toHaveLength(50);
    expect(ok(five.result).nftsByOwner).toHaveLength(5);
    console.log(`DataLoader: 50 NFTs → ${fifty.queries} SQL statements, 5 NFTs → ${five.queries}`);
    expect(fifty.queries).toBe(five.queries);
    expect(fifty.queries).toBeLessThanOrEqual(10);

    // Loaded through GraphQL by one app, served from the shared cache to REST in another.
    const shared = () => buildApp({ ...s.deps });
    ok(await gql("query($id: ID!) { nft(id: $id) { name } }", { id: ids[7] }, {}, shared()));
    const restRead = await countQueries(async () => (await shared().request(`/nfts/${ids[7]}`)).json());
    expect((restRead.result as { id: string }).id).toBe(ids[7]);
    expect(restRead.queries).toBe(0); // no NFT query: the cache answered
  });

  it("/sql/* of the Ponder child (Postgres): a plain read answers; a cross join, too many relations, a write are refused with codes", async () => {
    const sqlGet = async (sql: string) => {
      const res = await fetch(`${s.ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql, params: [] } }))}`);
      return { status: res.status, body: (await res.json()) as any };
    };
    const plain = await sqlGet('select "chain_id", "owner" from "token" limit 5');
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect(plain.body.rows.length).toBeGreaterThan(0);
    const cross = await sqlGet('select count(*) from "token" a, "token" b, "token" c');
    expect([cross.status, cross.body.error?.code]).toEqual([422, "SQL_TOO_COSTLY"]);
    const many = await sqlGet(
      'select 1 from "token" a join "token" b on a.owner = b.owner join "transfer" c on c.to = a.owner join "transfer" d on d.from = b.owner',
    );
    expect([many.status, many.body.error?.code]).toEqual([422, "SQL_TOO_MANY_RELATIONS"]);
    const write = await sqlGet('delete from "token"');
    expect([write.status, write.body.error?.code]).toEqual([400, "SQL_NOT_ALLOWED"]);
  });
});
