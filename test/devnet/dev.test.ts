/**
 * `npm run dev` as a developer runs it (scripts/dev.ts, embedded defaults: PGlite, no Redis): the
 * devnet, LayerZero workers, Ponder with the REST API and the in-process WebSocket service come up; a mint on
 * chain reaches a WebSocket subscriber as `nft:minted` and the REST API answers; Ctrl-C (SIGINT)
 * stops everything and frees the ports. The notifier's fallback poll is set to a minute: the push is
 * woken by the embedded PGlite's commit notification. Then the same on Postgres, twice on one database.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Deployments } from "../../chain/deployments.js";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import { deploymentsSchema } from "../../chain/deployments.js";
import { createTestDatabase } from "../api/helpers.js";
import { accounts, collectionOn, deployer, freeBasePort, signerFor, waitFor } from "../helpers/devnet.js";
import { mineEmpty } from "../helpers/ponderHistory.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "cosmic-dev-test-"));
let dev: ChildProcess | undefined;
let output = "";

afterAll(async () => {
  // A failed test leaves dev running: SIGINT lets it stop its anvils (SIGKILL would orphan them).
  if (dev && dev.exitCode === null && dev.signalCode === null && (await stopDev()) === "hung") dev.kill("SIGKILL");
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

/** Starts `npm run dev` (scripts/dev.ts) with `env`; resolves on its ready line. */
async function startDev(env: NodeJS.ProcessEnv): Promise<void> {
  output = "";
  dev = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/dev.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  dev.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  dev.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await waitForOutput(/ready in [\d.]+ s/, 240_000);
}

/** Ctrl-C: resolves with dev's exit code, or "hung" after 30 s. */
async function stopDev(): Promise<number | null | "hung"> {
  const exited = new Promise<number | null>((resolve) => dev!.once("exit", (code) => resolve(code)));
  dev!.kill("SIGINT");
  return Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000))]);
}

/** Mints a token on the first chain and waits for its `nft:minted` push on the collection room. */
async function mintIsPushed(deployments: Deployments, realtimePort: number): Promise<void> {
  const socket = new WebSocket(`ws://127.0.0.1:${realtimePort}/ws`);
  const messages: { type: string; data?: Record<string, unknown> }[] = [];
  socket.on("message", (raw) => messages.push(JSON.parse(raw.toString())));
  await new Promise<void>((resolve, reject) => (socket.once("open", () => resolve()), socket.once("error", reject)));
  socket.send(JSON.stringify({ type: "subscribe", rooms: ["collection:cosmic"] }));
  const until = (check: () => boolean, what: string) =>
    waitFor(async () => check(), 30_000, `${what}; got ${JSON.stringify(messages)}\n${output.slice(-2000)}`);
  try {
    await until(() => messages.some((m) => m.type === "subscribed"), "subscribed");
    // A mint on the first chain is indexed and pushed over the socket.
    const chain = deployments.chains[0]!;
    const tokenId = tokenIdInRange(chain.eid, 9_000_001n);
    await signerFor(chain, deployer.privateKey).write({
      address: collectionOn(deployments, "cosmic", chain.chainId).address,
      abi: CosmicONFT721Abi,
      functionName: "mint",
      args: [accounts[7]!.address, tokenId],
    });
    await until(() => messages.some((m) => m.type === "nft:minted" && String(m.data?.tokenId) === tokenId.toString()), "nft:minted push");
  } finally {
    socket.close();
  }
}

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
    await startDev(env);
    expect(output).toContain(`ws://127.0.0.1:${realtimePort}/ws`);
    const deployments = deploymentsSchema.parse(JSON.parse(readFileSync(deploymentsFile, "utf8")));

    // REST (in Ponder's server) and the WebSocket service (in Ponder's process) are up; a mint (PGlite) is pushed.
    const health = await fetch(`http://127.0.0.1:${apiPort}/api/health`);
    expect(health.status).toBe(200);
    await mintIsPushed(deployments, realtimePort);

    // Ctrl-C: everything stops, ports are free again.
    expect(await stopDev()).not.toBe("hung");
    expect(await portOpen(apiPort)).toBe(false);
    expect(await portOpen(realtimePort)).toBe(false);
    expect(await portOpen(devnetPort)).toBe(false);
    rmSync(path.join(ROOT, ".ponder", deployments.devnetId), { recursive: true, force: true });
  });

  // On Postgres, twice on one database. (1) A container often has no USER (nor PGUSER): a
  // DATABASE_URL without a role must work; dev.ts's own connection once failed with "no PostgreSQL
  // user name specified in startup packet". (2) The second devnet reuses the first's chain ids and
  // block numbers: its mint must be pushed although the first devnet's notifier cursor is higher
  // (it once skipped every block below it). Its own database: dev.ts resets schemas in it.
  it("on Postgres (a DATABASE_URL without a user, no USER or PGUSER), twice on one database: each devnet's mint is pushed", async () => {
    const database = await createTestDatabase();
    const store = new pg.Client({ connectionString: database.url });
    await store.connect();
    try {
      const url = new URL(database.url);
      url.username = "";
      for (const run of [1, 2]) {
        const realtimePort = await freeBasePort(1);
        const deploymentsFile = path.join(tmp, `deployments-pg-${run}.json`);
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DEVNET_CHAINS: "1",
          DEVNET_PORT: String(await freeBasePort(1)),
          PORT: String(await freeBasePort(1)),
          REALTIME_PORT: String(realtimePort),
          DEVNET_DEPLOYMENTS: deploymentsFile,
          DATABASE_URL: url.toString(),
        };
        for (const key of ["USER", "PGUSER", "REDIS_URL", "REALTIME_IN_PROCESS", "DATABASE_SCHEMA"]) delete env[key];
        await startDev(env);
        expect(output).toContain("Postgres: schema");
        const deployments = deploymentsSchema.parse(JSON.parse(readFileSync(deploymentsFile, "utf8")));
        await mintIsPushed(deployments, realtimePort);
        if (run === 1) {
          // Leave the notifier's cursor far above the block the second devnet's mint will land in.
          await mineEmpty(deployments, 100);
          const cursor = async () => Number((await store.query("SELECT max(block_number) AS b FROM offchain.realtime_cursor")).rows[0]?.b ?? 0);
          await waitFor(async () => (await cursor()) >= 100, 30_000, "the notifier's cursor at the mined blocks");
        }
        expect(await stopDev()).not.toBe("hung");
        rmSync(path.join(ROOT, ".ponder", deployments.devnetId), { recursive: true, force: true });
      }
    } finally {
      await store.end();
      await database.drop();
    }
  });
});
