/**
 * `npm run dev`: the whole backend locally in one command — a fresh devnet (anvil chains with
 * LayerZero's production stack + our collections), LayerZero's workers (DVNs, committer, executor),
 * and the Ponder indexer/API on top.
 *
 * Every devnet gets its own data: PGlite in `.ponder/<devnetId>/pglite` (and the off-chain store in
 * `.ponder/<devnetId>/offchain`), or with DATABASE_URL
 * a Postgres schema `dev_<devnetId>` (and Ponder's RPC cache `ponder_sync` is dropped first, because
 * a new devnet reuses the chain ids of the old one: docs/indexer.md, the RPC cache).
 * Ctrl-C stops everything this script started.
 *
 * Env: DEVNET_CHAINS (3), DEVNET_PORT (8545), PORT (42069), REALTIME_PORT (42080), DEVNET_DVN_DELAY_MS (0), DATABASE_URL.
 *
 * `npm run rehearsal` (`--rehearsal`): production mode instead (devnet/rehearsal.ts) — two chains with
 * Base Sepolia's and Arbitrum Sepolia's chain ids and EIDs, EndpointV2 at the testnets' address, a
 * block a second, 2 confirmations; `ponder start` with PONDER_NETWORK=testnet, a collections file and
 * RPC_URL_<CHAIN>, as operators run it. Three tokens are minted to account 1 to bridge.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { type LayerZeroWorkers, startLayerZeroWorkers } from "../devnet/layerzero/workers.js";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../chain/onft.js";
import { createChainSigner } from "../chain/signer.js";
import { REHEARSAL_DEVNET, collectionsFile, rehearsalEnv } from "../devnet/rehearsal.js";
import { type Devnet, startDevnet } from "../devnet/start.js";
import { readDevnetEnv } from "../infra/config/devnet.js";
import { readServerEnv } from "../infra/config/index.js";
import { readIndexerEnv } from "../infra/config/indexer.js";
import { loadOpsConfig } from "../infra/config/ops.js";
import { PONDER_BIN, ponderNodeArgs } from "../indexer/ponderProcess.js";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const rehearsal = process.argv.includes("--rehearsal");
const log = (line: string) => console.log(`[${rehearsal ? "rehearsal" : "dev"}] ${line}`);

let devnet: Devnet | undefined;
let workers: LayerZeroWorkers | undefined;
let ponder: ChildProcess | undefined;
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  if (ponder && ponder.exitCode === null && ponder.signalCode === null) {
    const exited = new Promise((r) => ponder!.once("exit", r));
    ponder.kill("SIGTERM");
    const timer = setTimeout(() => ponder?.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await workers?.stop().catch(() => {});
  await devnet?.stop().catch(() => {});
  log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

async function main() {
  const local = readDevnetEnv(process.env);
  const server = readServerEnv(process.env);
  const chains = rehearsal ? REHEARSAL_DEVNET.chains! : local.chains;
  const basePort = local.basePort;
  const port = server.PORT ?? 42069;
  const deploymentsFile = path.resolve(readIndexerEnv(process.env).deploymentsFile);

  const started = performance.now();
  devnet = await startDevnet({ ...(rehearsal ? REHEARSAL_DEVNET : {}), chains, basePort, deploymentsFile, log: (l) => log(l) });
  const { deployments } = devnet;
  for (const c of deployments.chains) log(`  ${c.name}: chain ${c.chainId}, EID ${c.eid}, ${c.rpcUrl}`);
  workers = await startLayerZeroWorkers({ deployments, delayMs: local.dvnDelayMs, log });

  const dataDir = path.join(ROOT, ".ponder", deployments.devnetId);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, "deployments.json"), JSON.stringify(deployments, null, 2));
  const schema = `dev_${deployments.devnetId.replace(/-/g, "").slice(0, 12)}`;
  const env: NodeJS.ProcessEnv = {
    // The WebSocket service runs inside Ponder's process here (src/api/index.ts) unless set otherwise: on PGlite nothing else can read the index.
    REALTIME_IN_PROCESS: "1",
    ...process.env,
    PONDER_TELEMETRY_DISABLED: "1",
    PONDER_PGLITE_DIR: path.join(dataDir, "pglite"),
    // The off-chain store (PGlite without DATABASE_URL) belongs to this devnet too: its events and
    // mints name this devnet's chains, and one PGlite directory must never be opened by two processes.
    OFFCHAIN_DATA_DIR: server.OFFCHAIN_DATA_DIR ?? path.join(dataDir, "offchain"),
  };
  if (rehearsal) {
    // What an operator configures for real networks: no deployments file, a collections file.
    const file = path.join(dataDir, "collections.json");
    writeFileSync(file, JSON.stringify(collectionsFile(deployments), null, 2));
    Object.assign(env, rehearsalEnv(deployments, file));
    log(
      `collections file: ${path.relative(ROOT, file)}; PONDER_NETWORK=testnet; ${Object.keys(rehearsalEnv(deployments, file))
        .filter((k) => k.startsWith("RPC_URL_"))
        .join(", ")}`,
    );
    const first = deployments.chains[0]!;
    const cosmic = deployments.collections.find((c) => c.slug === "cosmic")!.deployments.find((d) => d.chainId === first.chainId)!;
    const minter = createChainSigner({
      chainId: first.chainId,
      rpcUrl: first.rpcUrl,
      privateKey: deployments.accounts[0]!.privateKey as `0x${string}`,
      pollingInterval: 200,
    });
    const ids = [1n, 2n, 3n].map((n) => tokenIdInRange(first.eid, n));
    await minter.write({
      address: cosmic.address,
      abi: CosmicONFT721Abi,
      functionName: "mintBatch",
      args: [ids.map(() => deployments.accounts[1]!.address), ids],
    });
    log(`minted cosmic ${ids.join(", ")} to account 1 (${deployments.accounts[1]!.address}) on ${first.name}`);
  } else env.DEVNET_DEPLOYMENTS = deploymentsFile;
  if (server.DATABASE_URL) {
    // Ponder's child inherits PGUSER (the caller's, else this user); the reset below connects as the same
    // role. The role goes into the URL: pg lets a URL without one override a `user` option, and then
    // falls back to this process's PGUSER/USER, which a container may not have.
    const pgUser = (env.PGUSER ??= userInfo().username);
    const url = new URL(server.DATABASE_URL);
    url.username ||= pgUser;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    // A new devnet reuses the last one's chain ids, block numbers, addresses and guids: Ponder's RPC
    // cache would mix the old chains' logs in, and the off-chain store's chain state (the notifier's
    // cursors and handled rows, tracker heads, mints) would skip or refuse the new chains'. On PGlite
    // both are per devnet (.ponder/<devnetId>); here they are reset.
    await client.query("DROP SCHEMA IF EXISTS ponder_sync CASCADE");
    await client.query("DROP SCHEMA IF EXISTS offchain CASCADE");
    await client.end();
    log(`Postgres: schema ${schema} (RPC cache ponder_sync and off-chain store reset for the new devnet)`);
  } else {
    log(`PGlite: ${path.relative(ROOT, path.join(dataDir, "pglite"))}`);
  }

  ponder = spawn(process.execPath, [...ponderNodeArgs(), PONDER_BIN, "start", "--schema", schema, "--port", String(port)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  ponder.once("exit", (code, signal) => {
    if (!stopping) {
      log(`ponder exited (${code ?? signal})`);
      void shutdown(1);
    }
  });

  // Ready = every chain indexed up to its head at the time we ask.
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    if (stopping) return;
    try {
      const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { id: number; block?: { number: number } }>;
      const heads = await Promise.all(
        deployments.chains.map(async (c) => {
          const res = await fetch(c.rpcUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
          });
          return { id: c.chainId, head: Number(((await res.json()) as { result: string }).result) };
        }),
      );
      const indexed = new Map(Object.values(status).map((s) => [s.id, s.block?.number ?? -1]));
      if (heads.every((h) => (indexed.get(h.id) ?? -1) >= h.head)) break;
    } catch {}
  }
  log(`GraphQL:  ${url}/graphql`);
  log(`REST:     ${url}/docs (OpenAPI at ${url}/openapi.json)`);
  const { realtime } = loadOpsConfig(env);
  if (realtime.inProcess) log(`WebSocket: ws://127.0.0.1:${realtime.port}${realtime.path}`);
  log(`SQL:      ${url}/sql/*   token view: ${url}/indexer/tokens/<collection>/<tokenId>`);
  log(`deployments: ${path.relative(ROOT, deploymentsFile)}`);
  log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s — Ctrl-C stops devnet, LayerZero workers and indexer`);
}

main().catch((error) => {
  console.error(`[dev] ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1);
});
