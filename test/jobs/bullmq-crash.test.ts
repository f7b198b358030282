/**
 * Production-mode crash: a BullMQ worker process is SIGKILLed mid-distribution (after a batch is
 * mined, before it is recorded). Another worker takes the stalled job over once the dead worker's
 * lock expires and finishes it: every attendee ends up with exactly one token, the job row says
 * completed.
 */
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { getAbiItem, getAddress, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { eventTokenId } from "../../domain/events/tokenIds.js";
import { createServerSigners } from "../../chain/serverSigners.js";
import type { Devnet } from "../../devnet/start.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { loadConfig } from "../../infra/config/index.js";
import { createLogger } from "../../infra/logger.js";
import { MemoryKeyValueStore } from "../../infra/redis.js";
import { BullJobQueue } from "../../jobs/bullmq.js";
import { distributeNfts } from "../../jobs/distributeNfts.js";
import { DISTRIBUTE_NFTS } from "../../jobs/names.js";
import { getJob } from "../../jobs/store.js";
import { createOffchainStore, type OffchainStore } from "../../offchain/store.js";
import { eventParticipants } from "../../offchain/tables/events.js";
import { seedAttendedEvent } from "../helpers/attendedEvent.js";
import { createTestDatabase, REDIS_URL } from "../api/helpers.js";
import { deployer, startTestDevnet, waitFor } from "../helpers/devnet.js";

let devnet: Devnet;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: OffchainStore;
const prefix = `test:bullcrash:${randomBytes(4).toString("hex")}:`;
const tmp = mkdtempSync(path.join(tmpdir(), "bull-crash-"));

beforeAll(async () => {
  [devnet, db] = await Promise.all([startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) }), createTestDatabase()]);
  store = createOffchainStore({ databaseUrl: db.url, poolSize: 4 });
  await store.migrate();
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  await devnet?.stop();
  rmSync(tmp, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

it("a killed BullMQ worker's distribution is finished by another worker, minting each attendee once", async () => {
  const network = setupFromDeployments(devnet.deployments);
  const chain = network.chains[0]!;
  const contract = getAddress(network.deployments.find((d) => d.slug === "cosmic")!.token);
  const attendees = Array.from({ length: 20 }, () => privateKeyToAccount(generatePrivateKey()).address);
  const eventId = await seedAttendedEvent(store.db, { organizer: deployer.address, chain, contract, attendees, name: "test" });

  const logger = createLogger({ level: "silent" });
  const signers = createServerSigners({ chains: network.chains, privateKey: deployer.privateKey as `0x${string}`, pollingInterval: 20 });
  const deps = { config: loadConfig({ NODE_ENV: "test" }), store, kv: new MemoryKeyValueStore(), logger, network, signers };
  const options = { redisUrl: REDIS_URL, prefix, attempts: 3, backoffMs: 50, lockDurationMs: 1500, stalledIntervalMs: 500 };
  const producer = new BullJobQueue(store.db, logger, options);
  const { job } = await producer.enqueue({
    type: DISTRIBUTE_NFTS,
    data: { eventId, batchSize: 4 },
    createdBy: "test",
    dedupeKey: `${DISTRIBUTE_NFTS}:${eventId}`,
  });

  const deploymentsFile = path.join(tmp, "deployments.json");
  writeFileSync(deploymentsFile, JSON.stringify(devnet.deployments));
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve("test/jobs/fixtures/bullWorkerChild.ts")], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DEVNET_DEPLOYMENTS: deploymentsFile,
      MINTER_PRIVATE_KEY: deployer.privateKey,
      CRASH_AFTER_BATCH: "2",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (d) => (output += d));
  const exit = await new Promise<{ signal: string | null }>((resolve) => child.once("exit", (_code, signal) => resolve({ signal })));
  expect(exit.signal, output).toBe("SIGKILL");
  const dead = (await getJob(store.db, job.id))!;
  expect(dead.status).toBe("running");
  expect(dead.progress).toMatchObject({ total: 20, done: 8 });

  // The surviving worker (this process) picks the stalled job up once the lock has expired.
  const survivor = new BullJobQueue(store.db, logger, options);
  survivor.register(DISTRIBUTE_NFTS, (data, ctx) => distributeNfts(deps, data, ctx));
  await survivor.start();
  try {
    await waitFor(async () => (await getJob(store.db, job.id))?.status === "completed", 30_000, "job taken over and completed").catch(async (e) => {
      const { Queue } = await import("bullmq");
      const q = new Queue("jobs", { connection: { url: REDIS_URL }, prefix: `${prefix}bull` });
      const bj = await q.getJob(job.id);
      console.log(
        "job state at timeout (row, BullMQ state, reason, attempts, stalls):",
        await getJob(store.db, job.id),
        await bj?.getState(),
        bj?.failedReason,
        bj?.attemptsMade,
        bj?.stalledCounter,
      );
      await q.close();
      throw e;
    });
  } finally {
    await survivor.close();
    await producer.close();
  }
  const done = (await getJob(store.db, job.id))!;
  expect(done.result).toMatchObject({ attendees: 20, mintedNow: 8, alreadyIssued: 4 });

  const client = signers.get(chain.chainId)!.publicClient;
  const mints = await client.getLogs({
    address: contract,
    event: getAbiItem({ abi: CosmicONFT721Abi, name: "Transfer" }),
    args: { from: zeroAddress },
    fromBlock: 0n,
  });
  expect(mints).toHaveLength(20);
  for (const a of attendees) {
    expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "ownerOf", args: [eventTokenId(chain.eid, eventId, a)] })).toBe(
      a,
    );
    expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "balanceOf", args: [a] })).toBe(1n);
  }
  const rows = await store.db.select().from(eventParticipants).where(eq(eventParticipants.eventId, eventId));
  expect(rows.every((r) => r.distributionStatus === "minted" && r.txHash)).toBe(true);
});
