/**
 * `npm run dev` as a developer runs it (scripts/dev.ts, embedded defaults: PGlite, no Redis): the
 * devnet, LayerZero workers, Ponder with the REST API and the in-process WebSocket service come up; a mint on
 * chain reaches a WebSocket subscriber as `nft:minted` and the REST API answers; Ctrl-C (SIGINT)
 * stops everything and frees the ports. The notifier's fallback poll is set to a minute: the push is
 * woken by the embedded PGlite's commit notification.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { deploymentsSchema } from "../../chain/deployments.js";
import { accounts, collectionOn, deployer, freeBasePort, signerFor } from "../helpers/devnet.js";
import { POSTGRES_URL } from "../helpers/ponder.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "cosmic-dev-test-"));
let dev: ChildProcess | undefined;
let output = "";

afterAll(async () => {
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    dev.kill("SIGKILL");
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output);
    if (match) return match;
    if (dev?.exitCode !== null) throw new Error(`npm run dev exited early:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portOpen = (port: number) =>
  fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }).then(
    () => true,
    () => false,
  );

describe("npm run dev", () => {
  it("runs chains, LayerZero workers, indexer, REST API and WebSocket pushes; SIGINT stops everything", async () => {
    const devnetPort = await freeBasePort(2);
    const apiPort = await freeBasePort(1);
    const realtimePort = await freeBasePort(1);
    const deploymentsFile = path.join(tmp, "deployments.json");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DEVNET_CHAINS: "2",
      DEVNET_PORT: String(devnetPort),
      PORT: String(apiPort),
      REALTIME_PORT: String(realtimePort),
      DEVNET_DEPLOYMENTS: deploymentsFile,
      REALTIME_POLL_MS: "60000",
      REALTIME_IDLE_TICK_MS: "60000",
    };
    for (const key of ["DATABASE_URL", "REDIS_URL", "REALTIME_IN_PROCESS", "DATABASE_SCHEMA"]) delete env[key];
    dev = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/dev.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    dev.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    dev.stderr!.on("data", (d: Buffer) => (output += d.toString()));

    await waitForOutput(/ready in [\d.]+ s/, 240_000);
    expect(output).toContain(`ws://127.0.0.1:${realtimePort}/ws`);
    const deployments = deploymentsSchema.parse(JSON.parse(readFileSync(deploymentsFile, "utf8")));
    const devnetId = deployments.devnetId;

    // REST (in Ponder's server) and the WebSocket service (in Ponder's process) are up.
    const health = await fetch(`http://127.0.0.1:${apiPort}/api/health`);
    expect(health.status).toBe(200);
    const socket = new WebSocket(`ws://127.0.0.1:${realtimePort}/ws`);
    const messages: { type: string; data?: Record<string, unknown> }[] = [];
    socket.on("message", (raw) => messages.push(JSON.parse(raw.toString())));
    await new Promise<void>((resolve, reject) => (socket.once("open", () => resolve()), socket.once("error", reject)));
    socket.send(JSON.stringify({ type: "subscribe", rooms: ["collection:cosmic"] }));
    const until = async (check: () => boolean, what: string, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`no ${what}; got ${JSON.stringify(messages)}\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => messages.some((m) => m.type === "subscribed"), "subscribed");

    // A mint on chain A is indexed (PGlite) and pushed over the socket.
    const chain = deployments.chains[0]!;
    const tokenId = tokenIdInRange(chain.eid, 9_000_001n);
    const to = accounts[7]!.address;
    await signerFor(chain, deployer.privateKey).write({
      address: collectionOn(deployments, "cosmic", chain.chainId).address,
      abi: CosmicONFT721Abi,
      functionName: "mint",
      args: [to, tokenId],
    });
    await until(() => messages.some((m) => m.type === "nft:minted" && String(m.data?.tokenId) === tokenId.toString()), "nft:minted push");
    socket.close();

    // Ctrl-C: everything stops, ports are free again.
    const exited = new Promise<number | null>((resolve) => dev!.once("exit", (code) => resolve(code)));
    dev.kill("SIGINT");
    const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000))]);
    expect(code).not.toBe("hung");
    expect(await portOpen(apiPort)).toBe(false);
    expect(await portOpen(realtimePort)).toBe(false);
    expect(await portOpen(devnetPort)).toBe(false);
    rmSync(path.join(ROOT, ".ponder", devnetId), { recursive: true, force: true });
  });

  // On Postgres, twice on one database. (1) A container often has no USER (nor PGUSER): a
  // DATABASE_URL without a role must work; dev.ts's own connection once failed with "no PostgreSQL
  // user name specified in startup packet". (2) The second devnet reuses the first's chain ids and
  // block numbers: its mint must be pushed although the first devnet's notifier cursor is higher
  // (it once skipped every block below it). Its own database: dev.ts resets schemas in it.
  it("on Postgres (a DATABASE_URL without a user, no USER or PGUSER), twice on one database: each devnet's mint is pushed", async () => {
    const database = `dev_test_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(POSTGRES_URL);
    url.username = "";
    url.pathname = `/${database}`;
    const store = new pg.Client({ connectionString: POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`) });
    await store.connect();
    try {
      for (const run of [1, 2]) {
        const apiPort = await freeBasePort(1);
        const realtimePort = await freeBasePort(1);
        const deploymentsFile = path.join(tmp, `deployments-pg-${run}.json`);
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DEVNET_CHAINS: "1",
          DEVNET_PORT: String(await freeBasePort(1)),
          PORT: String(apiPort),
          REALTIME_PORT: String(realtimePort),
          DEVNET_DEPLOYMENTS: deploymentsFile,
          DATABASE_URL: url.toString(),
        };
        for (const key of ["USER", "PGUSER", "REDIS_URL", "REALTIME_IN_PROCESS", "DATABASE_SCHEMA"]) delete env[key];
        output = "";
        dev = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/dev.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        dev.stdout!.on("data", (d: Buffer) => (output += d.toString()));
        dev.stderr!.on("data", (d: Buffer) => (output += d.toString()));
        await waitForOutput(/ready in [\d.]+ s/, 240_000);
        expect(output).toContain("Postgres: schema");
        const deployments = deploymentsSchema.parse(JSON.parse(readFileSync(deploymentsFile, "utf8")));
        const chain = deployments.chains[0]!;

        const socket = new WebSocket(`ws://127.0.0.1:${realtimePort}/ws`);
        const messages: { type: string; data?: Record<string, unknown> }[] = [];
        socket.on("message", (raw) => messages.push(JSON.parse(raw.toString())));
        await new Promise<void>((resolve, reject) => (socket.once("open", () => resolve()), socket.once("error", reject)));
        socket.send(JSON.stringify({ type: "subscribe", rooms: ["collection:cosmic"] }));
        const until = async (check: () => boolean | Promise<boolean>, what: string) => {
          const deadline = Date.now() + 30_000;
          while (!(await check())) {
            if (Date.now() > deadline) throw new Error(`run ${run}: no ${what}; got ${JSON.stringify(messages)}\n${output.slice(-2000)}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        await until(() => messages.some((m) => m.type === "subscribed"), "subscribed");
        const tokenId = tokenIdInRange(chain.eid, 9_000_001n);
        await signerFor(chain, deployer.privateKey).write({
          address: collectionOn(deployments, "cosmic", chain.chainId).address,
          abi: CosmicONFT721Abi,
          functionName: "mint",
          args: [accounts[7]!.address, tokenId],
        });
        await until(() => messages.some((m) => m.type === "nft:minted" && String(m.data?.tokenId) === tokenId.toString()), "nft:minted push");
        socket.close();
        if (run === 1) {
          // Leave the notifier's cursor far above the block the second devnet's mint will land in.
          await fetch(chain.rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x64"] }),
          });
          const cursor = async () => Number((await store.query("SELECT max(block_number) AS b FROM offchain.realtime_cursor")).rows[0]?.b ?? 0);
          await until(async () => (await cursor()) >= 100, "notifier cursor at the mined blocks");
        }

        const exited = new Promise<number | null>((resolve) => dev!.once("exit", (code) => resolve(code)));
        dev.kill("SIGINT");
        expect(await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000))])).not.toBe("hung");
        rmSync(path.join(ROOT, ".ponder", deployments.devnetId), { recursive: true, force: true });
      }
    } finally {
      await store.end();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
