/**
 * Postgres stopped and restarted under traffic (issue 8), on a DISPOSABLE PostgreSQL server of
 * this test (lib/pgServer.ts; never the shared one at :5432). The REST app is built in-process
 * with its off-chain store AND its indexed read pool (a Ponder-shaped schema, lib/indexFixture.ts)
 * on that server, Redis on a prefix of the shared one. Traffic, each route in its own loop, for the whole test:
 *   reads  GET /nfts/:id (cached), GET /nfts/owner/:address, GET /events, GET /events/:id, GET /api/health
 *   writes POST /events/:id/register (a new wallet each time), PUT /nfts/:id/metadata (a unique marker)
 *   auth   GET /auth/nonce/:address, POST /auth/login (a new wallet each time)
 * Two outages: a fast shutdown (SIGINT) and a crash (SIGKILL of the postmaster and every backend),
 * each held ~2 s, then a restart on the same data folder and port.
 *
 * Contract while Postgres is down (asserted):
 *   - keep serving (200): GET /nfts/:id of a token already in the Redis cache, GET /api/health
 *     (status "down", postgres check failed), GET /auth/nonce (Redis only);
 *   - 503 DEPENDENCY_UNAVAILABLE (+ Retry-After) for what must read or write Postgres: owner
 *     listing, events, registration, metadata override, login; never a 500, never a hang (every
 *     answer within HANG_MS);
 *   - /api/ready answers 503;
 *   - after the restart, every route succeeds again within 5 s;
 *   - nothing lost: every write acknowledged (2xx) is stored afterwards, exactly once, and the
 *     event's registered counter equals its participant rows.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../api/app.js";
import { connectIndexedDb, type IndexedDb } from "../../read/db.js";
import { formatNftId } from "../../domain/nfts/ids.js";
import { nftSettings } from "../../infra/config/nfts.js";
import { createOffchainStore, type OffchainStore } from "../../offchain/store.js";
import { createTestApp, json, siweMessage, type TestApp } from "../api/helpers.js";
import { FIXTURE_CHAINS, FIXTURE_OWNER, createIndexFixture, fixtureNetwork } from "./lib/indexFixture.js";
import { type PgServer, startPgServer } from "./lib/pgServer.js";
import { Summary } from "./lib/summary.js";
import { type Probe, Traffic } from "./lib/traffic.js";

const DEAD_RPC = "http://127.0.0.1:9";
const HANG_MS = 8_000; // above the store's 5 s connection timeout: anything slower is a hang
const DOWN_MS = 2_000;

let pgs: PgServer;
let store: OffchainStore;
let indexed: IndexedDb;
let t: TestApp;
let mediaDir: string;
const summary = new Summary();

beforeAll(async () => {
  pgs = await startPgServer();
  store = createOffchainStore({ databaseUrl: pgs.url, poolSize: 4 });
  await store.migrate();
  await createIndexFixture(pgs.url, "idx", 3);
  indexed = connectIndexedDb({ databaseUrl: pgs.url, schema: "idx", max: 2 });
  mediaDir = mkdtempSync(path.join(os.tmpdir(), "pg-outage-media-"));
}, 60_000);

afterAll(async () => {
  console.log(summary.table("Postgres outage (disposable server; fast shutdown and SIGKILL under traffic)"));
  // Each step bounded: one CI run (of ~10 local ones) hung here for the 300 s hook timeout, after
  // the test had passed, and it could not be reproduced to find which step. The disposable server
  // goes first so no pool can wait on a live connection; a step that still overruns is reported.
  const step = async (name: string, fn: () => Promise<unknown> | undefined) => {
    const t0 = Date.now();
    const done = await Promise.race([Promise.resolve(fn()).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 15_000).unref())]);
    if (!done) console.warn(`postgres-outage cleanup: ${name} still running after 15 s (left to the process exit)`);
    else if (Date.now() - t0 > 2_000) console.warn(`postgres-outage cleanup: ${name} took ${Date.now() - t0} ms`);
  };
  await step("test app", () => t?.close());
  await step("disposable server", () => pgs?.destroy());
  await step("indexed pool", () => indexed?.close().catch(() => {}));
  await step("off-chain pool", () => store?.close().catch(() => {}));
  if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
});

describe("Postgres outage under traffic", () => {
  it("reads keep answering, Postgres routes answer 503, recovery within 5 s, no acknowledged write lost", async () => {
    const admin = privateKeyToAccount(generatePrivateKey());
    t = await createTestApp({
      kv: "redis",
      chains: FIXTURE_CHAINS.map((c) => ({ chainId: c.chainId, rpcUrl: DEAD_RPC })),
      env: { ADMIN_ADDRESSES: admin.address },
    });
    const deps = { ...t.deps, store, indexed, network: fixtureNetwork(DEAD_RPC), nft: nftSettings({ mediaDir, fetchTimeoutMs: 300 }) };
    const app = buildApp(deps);
    const chainId = FIXTURE_CHAINS[0].chainId;

    const login = async (account = privateKeyToAccount(generatePrivateKey())) => {
      const nonceRes = await app.request(`/auth/nonce/${account.address}`);
      if (nonceRes.status !== 200) return nonceRes;
      const { nonce } = (await nonceRes.json()) as { nonce: string };
      const message = siweMessage({ address: account.address, nonce, chainId });
      return app.request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
    };
    const adminLogin = await login(admin);
    expect(adminLogin.status).toBe(200);
    const adminAuth = { authorization: `Bearer ${((await adminLogin.json()) as { accessToken: string }).accessToken}` };

    const now = Date.now();
    const created = await app.request(
      "/events",
      json(
        {
          name: "Outage",
          startsAt: new Date(now + 3600_000).toISOString(),
          endsAt: new Date(now + 7200_000).toISOString(),
          capacity: 100_000,
          collection: "cosmic",
          chainId,
        },
        adminAuth,
      ),
    );
    expect(created.status).toBe(201);
    const eventId = ((await created.json()) as { id: string }).id;

    const readId = formatNftId("cosmic", (await indexedTokenIds())[0]!);
    const writeId = formatNftId("cosmic", (await indexedTokenIds())[1]!);
    // Warm the cache of the read token (a token never written during the test: its key stays valid).
    expect((await app.request(`/nfts/${readId}`)).status).toBe(200);

    const registered = new Set<string>();
    const overrides = new Set<string>();
    let sequence = 0;
    const probes: Probe[] = [
      { name: "GET /nfts/:id (cached)", success: [200], whileDown: "serve", run: () => app.request(`/nfts/${readId}`) },
      { name: "GET /api/health", success: [200], whileDown: "serve", run: () => app.request("/api/health") },
      {
        name: "GET /auth/nonce/:address",
        success: [200],
        whileDown: "serve",
        run: () => app.request(`/auth/nonce/${privateKeyToAccount(generatePrivateKey()).address}`),
      },
      { name: "GET /nfts/owner/:address", success: [200], whileDown: "503", run: () => app.request(`/nfts/owner/${FIXTURE_OWNER}`) },
      { name: "GET /events", success: [200], whileDown: "503", run: () => app.request("/events") },
      { name: "GET /events/:id", success: [200], whileDown: "503", run: () => app.request(`/events/${eventId}`) },
      {
        name: "POST /events/:id/register",
        success: [201],
        whileDown: "503",
        async run() {
          const wallet = privateKeyToAccount(generatePrivateKey()).address;
          const token = await t.deps.keys.sign({ sub: wallet, sid: randomUUID(), roles: ["user"] });
          const res = await app.request(`/events/${eventId}/register`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
          if (res.status === 201) registered.add(wallet);
          return res;
        },
      },
      {
        name: "PUT /nfts/:id/metadata",
        success: [200],
        whileDown: "503",
        async run() {
          const marker = `outage-${++sequence}`;
          const res = await app.request(`/nfts/${writeId}/metadata`, {
            method: "PUT",
            headers: { "content-type": "application/json", ...adminAuth },
            body: JSON.stringify({ name: marker }),
          });
          if (res.status === 200) overrides.add(marker);
          return res;
        },
      },
      { name: "POST /auth/login", success: [200], whileDown: "503", run: () => login() },
    ];
    const traffic = new Traffic(probes, { hangMs: HANG_MS, allowed503: new Set(["DEPENDENCY_UNAVAILABLE"]) });
    const outages: { mode: "fast" | "kill"; minDownAnswers: number; recovery: number; ready503: boolean; health: unknown }[] = [];

    traffic.start();
    try {
      await new Promise((r) => setTimeout(r, 500));
      for (const mode of ["fast", "kill"] as const) {
        traffic.outage();
        await pgs.stop(mode);
        const downFrom = Date.now();
        await new Promise((r) => setTimeout(r, DOWN_MS / 2));
        const ready = await app.request("/api/ready");
        const health = await (await app.request("/api/health")).json();
        await new Promise((r) => setTimeout(r, DOWN_MS / 2));
        const minDownAnswers = Math.min(...traffic.countBetween(downFrom, Date.now()).values());
        await pgs.start();
        const returnedAt = Date.now();
        const recovery = await traffic.recovered(returnedAt);
        outages.push({ mode, minDownAnswers, recovery, ready503: ready.status === 503, health });
        await new Promise((r) => setTimeout(r, 1_000)); // traffic after recovery must be clean too
      }
    } finally {
      await traffic.stop();
    }

    const verdict = traffic.verdict();
    for (const [name, row] of verdict)
      summary.add({
        test: `pg outage: ${name}`,
        attempts: row.attempts,
        failures: row.failures,
        note: `${[...row.statuses].map(([s, n]) => `${s}×${n}`).join(", ")}; slowest ${row.maxMs} ms`,
      });
    for (const o of outages)
      summary.add({
        test: `pg outage (${o.mode === "fast" ? "fast shutdown" : "SIGKILL"}): recovery`,
        attempts: 1,
        failures: o.recovery < 5 ? 0 : 1,
        seconds: o.recovery,
        note: `every route answered ≥ ${o.minDownAnswers} times while down`,
      });

    // Nothing lost, nothing doubled (read straight from the restarted server).
    const client = new pg.Client({ connectionString: pgs.url });
    await client.connect();
    try {
      const participants = (await client.query(`SELECT address FROM offchain.event_participants WHERE event_id = $1`, [eventId])).rows.map(
        (r) => r.address as string,
      );
      const counter = (await client.query(`SELECT registered FROM offchain.events WHERE id = $1`, [eventId])).rows[0]?.registered as number;
      const versions = (
        await client.query(`SELECT version, metadata->>'name' AS name FROM offchain.nft_metadata_versions WHERE collection = 'cosmic' AND token_id = $1`, [
          writeId.split(":")[1],
        ])
      ).rows as { version: number; name: string }[];
      const lostRegistrations = [...registered].filter((a) => !participants.includes(a));
      const names = versions.map((v) => v.name);
      const lostOverrides = [...overrides].filter((m) => !names.includes(m));
      const doubled = names.filter((n, i) => names.indexOf(n) !== i);
      summary.add({
        test: "pg outage: acknowledged registrations stored once",
        attempts: registered.size,
        failures: lostRegistrations.length + (counter === participants.length ? 0 : 1),
        note: `${participants.length} rows, counter ${counter}`,
      });
      summary.add({
        test: "pg outage: acknowledged metadata versions stored once",
        attempts: overrides.size,
        failures: lostOverrides.length + doubled.length,
        note: `${versions.length} versions`,
      });
      expect(lostRegistrations).toEqual([]);
      expect(new Set(participants).size).toBe(participants.length);
      expect(counter).toBe(participants.length);
      expect(lostOverrides).toEqual([]);
      expect(doubled).toEqual([]);
      expect(registered.size).toBeGreaterThan(5);
      expect(overrides.size).toBeGreaterThan(5);
    } finally {
      await client.end();
    }

    // A replica (re)starting after the crash migrates again: the transaction-scoped advisory lock
    // died with the old backends, nothing is pending, nothing is re-applied.
    expect(await store.migrate()).toEqual([]);

    if (traffic.failures.length)
      console.log(
        t.logs
          .filter((l) => l.includes('"level":50') || l.includes("unhandled"))
          .slice(0, 5)
          .join("\n"),
      );
    expect(traffic.failures).toEqual([]);
    for (const o of outages) {
      expect(o.minDownAnswers).toBeGreaterThan(3); // traffic kept flowing on every route while Postgres was down
      expect(o.ready503).toBe(true);
      expect(o.health).toMatchObject({ status: "down", checks: { postgres: { ok: false } } });
      expect(o.recovery).toBeLessThan(5);
    }
    // Every Postgres route really was refused while down (the outage was observed, not missed).
    for (const p of probes.filter((p) => p.whileDown === "503"))
      expect(verdict.get(p.name)!.statuses.get("503 DEPENDENCY_UNAVAILABLE") ?? 0).toBeGreaterThan(0);
    // No secret or connection string in the logs of the outage.
    expect(t.logs.filter((l) => l.includes(pgs.url) || l.includes("privateKey"))).toEqual([]);
  }, 120_000);
});

async function indexedTokenIds(): Promise<bigint[]> {
  const client = new pg.Client({ connectionString: pgs.url });
  await client.connect();
  try {
    return (await client.query(`SELECT token_id FROM idx.token ORDER BY token_id`)).rows.map((r) => BigInt(r.token_id));
  } finally {
    await client.end();
  }
}
