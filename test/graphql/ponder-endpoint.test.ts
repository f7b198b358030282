/**
 * What Ponder's own process serves for us (src/api/index.ts on a real `ponder start`, PGlite, a
 * 1-chain devnet): the one GraphQL endpoint (seed and generated types in one request, the row
 * budget), the global rate limit on /indexer/* (security item 7), and /sql/* through Ponder's
 * client() behind the guard.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devnet } from "../../devnet/start.js";
import { startTestDevnet } from "../helpers/devnet.js";
import { type PonderInstance, cleanupPonder, startPonder, waitForHead } from "../helpers/ponder.js";
import { FAN_OUT } from "./queries.js";

const PER_IP = 40;
/** /graphql, / and /sql/* share this per-IP budget; the tests before the last spend fewer than 10. */
const GRAPHQL_PER_IP = 20;
let devnet: Devnet;
let ponder: PonderInstance;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  ponder = await startPonder({
    deployments: devnet.deployments,
    db: "pglite",
    env: { RATE_LIMIT_PER_IP: String(PER_IP), RATE_LIMIT_GRAPHQL_PER_IP: String(GRAPHQL_PER_IP) },
  });
  await waitForHead(ponder, devnet.deployments, 90_000);
}, 300_000);
afterAll(async () => {
  if (ponder) await cleanupPonder(ponder);
  await devnet?.stop();
});

async function post(query: string) {
  const started = performance.now();
  const res = await fetch(`${ponder.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return {
    status: res.status,
    body: (await res.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] },
    ms: performance.now() - started,
  };
}

describe("Ponder's process: one GraphQL endpoint, limited /indexer/*, guarded /sql/*", () => {
  it("/graphql answers the seed's types and the generated ones in one request (and / for old clients)", async () => {
    const chainId = devnet.deployments.chains[0]!.chainId;
    const query = `{ chains { id name indexedBlock } allCollections { slug supply deployments { chain { id } kind } } collections { items { slug name } } _meta { status } nftsByOwner(owner: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8") { id } }`;
    const r = await post(query);
    expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    expect(r.body.data.chains).toEqual([expect.objectContaining({ id: chainId })]);
    expect(r.body.data.allCollections.map((c: { slug: string }) => c.slug)).toEqual(r.body.data.collections.items.map((c: { slug: string }) => c.slug));
    expect(r.body.data._meta.status).toBeTruthy();
    const root = await fetch(`${ponder.url}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ chains { id } }" }),
    });
    expect(((await root.json()) as any).data.chains[0].id).toBe(chainId);
    const page = await fetch(`${ponder.url}/graphql`, { headers: { accept: "text/html" } });
    expect([page.status, page.headers.get("content-type")]).toEqual([200, expect.stringContaining("text/html")]);
  });

  it("the row budget applies to the generated schema at Ponder's endpoint: the fan-out query is refused fast", async () => {
    const r = await post(FAN_OUT);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COSTLY" });
    expect(r.ms).toBeLessThan(1_000);
  });

  it("/sql/db through Ponder's client(): a plain read answers, a cross join is refused before it runs", async () => {
    const sql = async (statement: string) => {
      const res = await fetch(`${ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: statement, params: [] } }))}`);
      return { status: res.status, body: (await res.json()) as any };
    };
    const plain = await sql('select "slug" from "collection"');
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect(plain.body.rows.length).toBeGreaterThan(0);
    const cross = await sql('select count(*) from "token" a, "token" b, "token" c');
    expect([cross.status, cross.body.error?.code]).toEqual([422, "SQL_TOO_COSTLY"]);
  });

  it("/indexer/* is under the global per-IP rate limit (429 RATE_LIMITED with Retry-After past RATE_LIMIT_PER_IP)", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < PER_IP + 5; i++) {
      const res = await fetch(`${ponder.url}/indexer/collections`);
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
      else await res.arrayBuffer();
    }
    // Earlier requests of this file (GraphQL has its own budget; /sql/* the GraphQL one) did not spend it.
    expect(statuses.filter((s) => s === 200)).toHaveLength(PER_IP);
    expect(statuses.slice(PER_IP).every((s) => s === 429)).toBe(true);
    expect(limited!.headers.get("retry-after")).toBeTruthy();
    expect(((await limited!.json()) as any).error.code).toBe("RATE_LIMITED");
  });

  it("/sql/* is under the GraphQL per-IP budget, in the REST app's key-value store (429 RATE_LIMITED with Retry-After)", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < GRAPHQL_PER_IP + 5; i++) {
      const res = await fetch(
        `${ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: 'select "slug" from "collection"', params: [] } }))}`,
      );
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
      else await res.arrayBuffer();
    }
    const first = statuses.indexOf(429);
    // Some of the budget went to the earlier GraphQL and /sql requests of this file.
    expect(first).toBeGreaterThan(GRAPHQL_PER_IP - 12);
    expect(statuses.slice(0, first).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(first).every((s) => s === 429)).toBe(true);
    expect(limited!.headers.get("retry-after")).toBeTruthy();
    expect(((await limited!.json()) as any).error.code).toBe("RATE_LIMITED");
  });
});
