/**
 * Off-chain rows survive a full Ponder re-index: a real `ponder start` indexes a tiny project into
 * schema A on the same database, then a changed build re-indexes from scratch into schema B and the
 * old schema is dropped; the `offchain` schema, its migrations and rows are untouched throughout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AnvilProcess, freePort, startAnvil } from "../../devnet/anvil.js";
import { users } from "../../offchain/schema.js";
import { createPostgresStore, type OffchainStore } from "../../offchain/store.js";
import { createTestDatabase } from "../api/helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let anvil: AnvilProcess;
let store: OffchainStore;
let projectDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  anvil = await startAnvil({ port: await freePort(), chainId: 31337 });
  await fetch(anvil.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x5"] }),
  });
  store = createPostgresStore(db.url, 2);
  projectDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-ponder-mini-"));
  cpSync(path.join(here, "fixtures/ponder-mini"), projectDir, { recursive: true });
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(projectDir, "node_modules"), "dir");
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await store?.close();
  await anvil?.stop();
  await db?.drop();
  if (projectDir) rmSync(projectDir, { recursive: true, force: true });
});

async function ponderStart(schema: string): Promise<{ port: number; stop(): Promise<void>; output: () => string }> {
  const port = await freePort();
  let output = "";
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, "node_modules/ponder/dist/esm/bin/ponder.js"),
      "--root",
      projectDir,
      "--log-format",
      "json",
      "start",
      "--schema",
      schema,
      "--port",
      String(port),
    ],
    {
      cwd: projectDir,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        MINI_RPC_URL: anvil.rpcUrl,
        PONDER_TELEMETRY_DISABLED: "1",
        // Our REST app, mounted by the fixture's src/api/index.ts on the same database (schema offchain).
        COSMIC_API_MODULE: path.join(repoRoot, "app/deps.ts"),
        DATA_DIR: path.join(projectDir, ".data"),
        PONDER_RPC_URL_31337: anvil.rpcUrl,
        AUTH_SIWE_URI: "https://app.cosmic.test/login",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ponder exited ${child.exitCode}: ${output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`ponder not ready: ${output.slice(-2000)}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function count(sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query(sql)).rows[0].n);
  } finally {
    await client.end();
  }
}

it("keeps offchain rows through ponder start, a schema change and a full re-index", async () => {
  await store.migrate();
  await store.db.insert(users).values({ address: "0x00000000000000000000000000000000000000CC", roles: ["user", "minter"], preferences: { a: 1 } });

  const first = await ponderStart("ponder_a");
  await expect.poll(() => count("SELECT count(*) AS n FROM ponder_a.tick"), { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
  // Ponder serves our REST app beside its own routes.
  const nonce = await fetch(`http://127.0.0.1:${first.port}/auth/nonce/0x70997970c51812dc3a010c7d01b50e0d17dc79c8`);
  expect(nonce.status, first.output().slice(-1000)).toBe(200);
  expect(((await nonce.json()) as { chainIds: number[] }).chainIds).toEqual([31337]);
  expect((await fetch(`http://127.0.0.1:${first.port}/openapi.json`)).status).toBe(200);
  // Our error handler still answers for our routes inside Ponder's app.
  const me = await fetch(`http://127.0.0.1:${first.port}/auth/me`);
  expect({ status: me.status, body: await me.json() }).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
  const bad = await fetch(`http://127.0.0.1:${first.port}/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
  expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 400, body: { error: { code: "MALFORMED_JSON" } } });
  await first.stop();

  // A new build (schema changed) must re-index from scratch into a new schema; the old one is dropped.
  const schemaFile = path.join(projectDir, "ponder.schema.ts");
  writeFileSync(schemaFile, readFileSync(schemaFile, "utf8").replace("timestamp: t.bigint().notNull()", "timestamp: t.bigint().notNull(), hash: t.hex()"));
  const second = await ponderStart("ponder_b");
  await expect.poll(() => count("SELECT count(*) AS n FROM ponder_b.tick"), { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
  await second.stop();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("DROP SCHEMA ponder_a CASCADE");
  await client.query("DROP SCHEMA IF EXISTS ponder_sync CASCADE");
  await client.end();

  expect(await store.migrate()).toEqual([]);
  expect(await store.db.select().from(users)).toMatchObject([
    { address: "0x00000000000000000000000000000000000000CC", roles: ["user", "minter"], preferences: { a: 1 } },
  ]);
});
