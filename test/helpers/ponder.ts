/**
 * Test harness: runs our Ponder indexer as a real child process (`ponder start`) against a devnet,
 * on PGlite (fresh data folder) or Postgres (unique schema, dropped by `cleanup`). One PID per
 * process (node + ponder's bin, no npx), fresh port, polling helpers instead of sleeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../../devnet/anvil.js";
import { PONDER_BIN, ponderNodeArgs } from "../../indexer/ponderProcess.js";
import type { Deployments } from "../../chain/deployments.js";

// node-postgres takes the user name from $USER, which some CI shells leave unset.
process.env.PGUSER ??= process.env.USER || userInfo().username;

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgresql://127.0.0.1:5432/test";
export type DbKind = "pglite" | "postgres";

/** Which databases the suite runs on: `INDEXER_TEST_DBS=pglite,postgres` (default both). */
export const TEST_DBS: DbKind[] = (process.env.INDEXER_TEST_DBS ?? "pglite,postgres").split(",").filter((d): d is DbKind => d === "pglite" || d === "postgres");

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

export type PonderOptions = {
  deployments: Deployments;
  db: DbKind;
  /** Reuse a data folder / schema (restart after a kill); fresh otherwise. */
  reuse?: { dataDir: string; schema: string; deploymentsFile: string };
  env?: Record<string, string>;
  /** Postgres database of this instance (default: the test database): e.g. one of its own. */
  databaseUrl?: string;
};

export type PonderInstance = {
  url: string;
  port: number;
  schema: string;
  dataDir: string;
  deploymentsFile: string;
  db: DbKind;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  kill(): Promise<void>;
};

/**
 * Ponder's boot (build, database setup, migrations of the shared ponder_sync schema) is CPU-heavy
 * and contends on Postgres locks: test files running in parallel boot one Ponder at a time,
 * through an exclusive lock file (stale locks of dead processes are taken over).
 */
async function withBootLock<T>(fn: () => Promise<T>): Promise<T> {
  const { openSync, closeSync, readFileSync, unlinkSync, writeSync } = await import("node:fs");
  const file = path.join(tmpdir(), "cosmic-loop-ponder-boot.lock");
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      try {
        const holder = Number(readFileSync(file, "utf8"));
        if (holder && holder !== process.pid) process.kill(holder, 0);
      } catch {
        try {
          unlinkSync(file); // holder is gone
        } catch {}
        continue;
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for the Ponder boot lock");
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(file);
    } catch {}
  }
}

export async function startPonder(options: PonderOptions): Promise<PonderInstance> {
  return await withBootLock(() => bootPonder(options));
}

async function bootPonder(options: PonderOptions): Promise<PonderInstance> {
  const dataDir = options.reuse?.dataDir ?? mkdtempSync(path.join(tmpdir(), "ponder-test-"));
  const schema = options.reuse?.schema ?? `t_${randomBytes(5).toString("hex")}`;
  const deploymentsFile = options.reuse?.deploymentsFile ?? path.join(dataDir, "deployments.json");
  if (!options.reuse) writeFileSync(deploymentsFile, JSON.stringify(options.deployments));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PONDER_TELEMETRY_DISABLED: "1",
    DEVNET_DEPLOYMENTS: deploymentsFile,
    PONDER_PGLITE_DIR: path.join(dataDir, "pglite"),
    // Each instance its own off-chain PGlite (without DATABASE_URL): two processes on one directory corrupt it.
    OFFCHAIN_DATA_DIR: path.join(dataDir, "offchain"),
    PONDER_PG_POOL_MAX: "5",
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.DATABASE_PRIVATE_URL;
  if (options.db === "postgres") env.DATABASE_URL = options.databaseUrl ?? POSTGRES_URL;
  const child = spawn(
    process.execPath,
    [...ponderNodeArgs(), PONDER_BIN, "--log-level", process.env.PONDER_TEST_LOG_LEVEL ?? "warn", "start", "--schema", schema, "--port", String(port)],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (c) => (output = (output + c).slice(-20_000)));
  child.stderr?.on("data", (c) => (output = (output + c).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const instance: PonderInstance = {
    url,
    port,
    schema,
    dataDir,
    deploymentsFile,
    db: options.db,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
  // Wait for the HTTP server (it starts before the backfill finishes).
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ponder exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await instance.kill();
      throw new Error(`ponder did not start in 120 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return instance;
}

/** Removes what a test instance left: its data folder and (Postgres) its schema. */
export async function cleanupPonder(instance: PonderInstance): Promise<void> {
  await instance.stop();
  rmSync(instance.dataDir, { recursive: true, force: true });
  if (instance.db === "postgres") {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${instance.schema}" CASCADE`);
      // Ponder's bookkeeping of this schema's app lives in ponder_sync-independent tables of the schema itself.
    } finally {
      await client.end();
    }
  }
}

export async function gql<T = any>(instance: PonderInstance, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${instance.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join("; ")}`);
  return body.data as T;
}

export async function getJson<T = any>(instance: PonderInstance, route: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${instance.url}${route}`);
  return { status: res.status, body: (await res.json()) as T };
}

/** Block each chain is indexed up to (from Ponder's /status), keyed by chain id. */
export async function indexedBlocks(instance: PonderInstance): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  try {
    const res = await fetch(`${instance.url}/status`);
    if (!res.ok) return out;
    const status = (await res.json()) as Record<string, { id: number; block?: { number: number } | null }>;
    for (const chain of Object.values(status)) if (chain.block) out.set(chain.id, chain.block.number);
  } catch {}
  return out;
}

/** Polls until every chain is indexed up to its current head (read from the chain). */
export async function waitForHead(instance: PonderInstance, deployments: Deployments, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const heads = await Promise.all(
      deployments.chains.map(async (c) => {
        const res = await fetch(c.rpcUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
        });
        return { chainId: c.chainId, head: Number(((await res.json()) as { result: string }).result) };
      }),
    );
    const indexed = await indexedBlocks(instance);
    if (heads.every((h) => (indexed.get(h.chainId) ?? -1) >= h.head)) return;
    if (instance.child.exitCode !== null) throw new Error(`ponder exited:\n${instance.output()}`);
    if (Date.now() > deadline)
      throw new Error(
        `ponder not at head after ${timeoutMs} ms: heads ${JSON.stringify(heads)} indexed ${JSON.stringify([...indexed])}\n${instance.output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `check` until it returns a truthy value. */
export async function waitUntil<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every onchain table of the index as sorted JSON rows (through SQL-over-HTTP is awkward; use GraphQL pages). */
export const INDEX_TABLES = {
  collections: "slug name symbol homeChainId",
  collectionDeployments: "chainId address collection kind eid token owner supply minted bridgedOut bridgedIn",
  contractOwners: "chainId address owner blockNumber",
  peers: "chainId oapp eid peer blockNumber",
  tokens:
    "chainId contract tokenId collection owner state lastSendGuid lastReceiveGuid mintedBlock updatedBlock updatedTimestamp updatedOrderKey lastTxHash lastLogIndex",
  transfers: "chainId txHash logIndex blockNumber timestamp collection contract tokenId from to kind guid orderKey",
  bridgeSends:
    "guid chainId collection srcEid dstEid dstChainId nonce oapp dstOapp fromAddress recipient tokenId message txHash blockNumber logIndex timestamp orderKey",
  bridgeReceives:
    "guid chainId collection srcEid dstEid srcChainId nonce oapp srcOapp recipient tokenId status deliveredTxHash deliveredBlock deliveredTimestamp failedTxHash failedBlock failedTimestamp failureReason failureReasonData failureGas failureCount orderKey",
  activitys: "chainId blockNumber logIndex orderKey type collection tokenId from to guid otherChainId txHash timestamp",
} as const;

/** Dumps every table (all pages) in a canonical order: two dumps are equal iff the indexes are. */
export async function dumpIndex(instance: PonderInstance): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, fields] of Object.entries(INDEX_TABLES)) {
    const rows: Record<string, unknown>[] = [];
    let after: string | null = null;
    for (;;) {
      const data: any = await gql(
        instance,
        `query($after: String) { ${table}(limit: 1000, after: $after) { items { ${fields} } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      rows.push(...data[table].items);
      if (!data[table].pageInfo.hasNextPage) break;
      after = data[table].pageInfo.endCursor;
    }
    out[table] = rows
      .map((r) => JSON.stringify(r))
      .sort()
      .map((r) => JSON.parse(r));
  }
  return out;
}

/**
 * The deployments with some chains' RPC URLs replaced (e.g. by devnet/rpcProxy.ts proxies). The head
 * subscriptions (`wsUrl`) stay direct unless `wsUrls` replaces them too.
 */
export function withRpcUrls(deployments: Deployments, urls: Map<number, string>, wsUrls = new Map<number, string>()): Deployments {
  return {
    ...deployments,
    chains: deployments.chains.map((c) => ({
      ...c,
      rpcUrl: urls.get(c.chainId) ?? c.rpcUrl,
      ...(wsUrls.has(c.chainId) ? { wsUrl: wsUrls.get(c.chainId) } : {}),
    })),
  };
}
