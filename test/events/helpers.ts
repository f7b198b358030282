/** Events test harness: the API app with network/signers/jobs, SIWE logins, roles, QR decoding. */
import jsQR from "jsqr";
import sharp from "sharp";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../../api/app.js";
import { TicketKeys } from "../../domain/events/tickets.js";
import type { ServerSigners } from "../../chain/serverSigners.js";
import type { IndexedDb } from "../../read/db.js";
import { createJobQueue } from "../../jobs/index.js";
import type { JobQueue } from "../../jobs/types.js";
import type { IndexerSetup } from "../../indexer/setup.js";
import { sql } from "drizzle-orm";
import { createTestApp, json, PG_URL, type KvMode, siweMessage, type TestApp } from "../api/helpers.js";

export type EventsApp = TestApp & {
  /** URL of the test database (Postgres mode), for child processes. */
  databaseUrl?: string;
  jobs: JobQueue;
  tickets: TicketKeys;
  request(path: string, init?: RequestInit): Promise<Response>;
  login(account?: Account): Promise<{ token: string; address: Hex }>;
  grant(address: Hex, role: string): Promise<void>;
  admin: { token: string; address: Hex };
};

type Account = ReturnType<typeof privateKeyToAccount>;

export async function createEventsApp(options: {
  kv: KvMode;
  store?: "postgres" | "pglite";
  network: IndexerSetup;
  signers?: ServerSigners;
  indexed?: IndexedDb;
  env?: Record<string, string>;
  startJobs?: boolean;
}): Promise<EventsApp> {
  const chainId = options.network.chains[0]!.chainId;
  const admin = privateKeyToAccount(generatePrivateKey());
  const t = await createTestApp({
    kv: options.kv,
    store: options.store,
    chains: options.network.chains.map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl })),
    env: { ADMIN_ADDRESSES: admin.address, JOBS_BACKOFF_MS: "50", EVENTS_CODE_STEP_SECONDS: "30", ...options.env },
  });
  // The test database's URL: BullMQ needs REDIS_URL in the config to be chosen.
  const config =
    options.kv === "redis"
      ? {
          ...t.deps.config,
          redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
          redisPrefix: (t.deps.kv as { prefix?: string }).prefix ?? "test:",
        }
      : t.deps.config;
  const deps = { ...t.deps, config, network: options.network, signers: options.signers, indexed: options.indexed };
  const jobs = createJobQueue(deps);
  if (options.startJobs !== false) await jobs.start();
  const tickets = new TicketKeys(Buffer.from("test-ticket-secret-test-ticket-secret"), config.events.codeStepSeconds);
  const app = buildApp({ ...deps, jobs, tickets });
  const request = async (path: string, init?: RequestInit) => await app.request(path, init);

  async function login(account: Account = privateKeyToAccount(generatePrivateKey())) {
    const nonceRes = await request(`/auth/nonce/${account.address}`);
    const { nonce } = (await nonceRes.json()) as { nonce: string };
    const message = siweMessage({ address: account.address, nonce, chainId });
    const res = await request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    return { token: ((await res.json()) as { accessToken: string }).accessToken, address: account.address };
  }
  const adminSession = await login(admin);
  let databaseUrl: string | undefined;
  if (t.deps.store.kind === "postgres") {
    const result = (await t.deps.store.db.execute(sql`SELECT current_database() AS name`)) as unknown as { rows: { name: string }[] };
    const url = new URL(PG_URL);
    url.pathname = `/${result.rows[0]!.name}`;
    databaseUrl = url.toString();
  }
  return {
    ...t,
    deps: { ...deps, jobs, tickets },
    databaseUrl,
    app,
    jobs,
    tickets,
    request,
    login,
    admin: adminSession,
    async grant(address: Hex, role: string) {
      const res = await request(`/users/${address}/roles/${role}`, { method: "PUT", headers: bearer(adminSession.token) });
      if (res.status !== 200) throw new Error(`grant failed: ${res.status}`);
    },
    async close() {
      await jobs.close();
      await t.close();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const post = (body: unknown, token?: string) => json(body, token ? bearer(token) : {});

/** An organizer: a fresh wallet granted the role, signed in after the grant (roles are in the token). */
export async function organizer(t: EventsApp) {
  const account = privateKeyToAccount(generatePrivateKey());
  await t.grant(account.address, "organizer");
  return await t.login(account);
}

export async function decodeQrPng(png: Uint8Array): Promise<string | undefined> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength), info.width, info.height)?.data;
}

/** A network with one chain and one mintable collection, for tests that never touch a chain. */
export function fakeNetwork(chainId = 31337, eid = 50001): IndexerSetup {
  const address = "0x00000000000000000000000000000000000000C0" as const;
  const deployment = { slug: "cosmic", chainId, chainName: "devnet-a", eid, kind: "onft" as const, address, token: address, startBlock: 0 };
  return {
    mode: "devnet",
    id: "fake",
    chains: [
      {
        name: "devnet-a",
        chainId,
        eid,
        rpcUrl: "http://127.0.0.1:1",
        endpoint: "0x00000000000000000000000000000000000000E0",
        startBlock: 0,
        pollingInterval: 100,
      },
    ],
    collections: [{ slug: "cosmic", name: "Cosmic", symbol: "COSMIC", deployments: [deployment] }],
    deployments: [deployment],
  };
}

export const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();
