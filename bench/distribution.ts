import { parseArgs } from "node:util";
import { and, eq, sql } from "drizzle-orm";
import { type Address, getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import { connectIndexedDb, indexedTables } from "../read/db.js";
import { tokenIdInRange } from "../chain/onft.js";
import { createServerSigners } from "../chain/serverSigners.js";
import { DEPLOYER_INDEX, devnetAccounts } from "../devnet/accounts.js";
import { setupFromDeployments } from "../indexer/setup.js";
import { loadConfig } from "../infra/config/index.js";
import { createLogger } from "../infra/logger.js";
import { MemoryKeyValueStore } from "../infra/redis.js";
import { createJobQueue } from "../jobs/index.js";
import { getJob } from "../jobs/store.js";
import { createOffchainStore } from "../offchain/store.js";
import { eventParticipants } from "../offchain/tables/events.js";
import { seedAttendedEvent } from "../test/helpers/attendedEvent.js";
import { createTestDatabase } from "../test/api/helpers.js";
import { startTestDevnet } from "../test/helpers/devnet.js";
import { POSTGRES_URL, cleanupPonder, startPonder, waitForHead } from "../test/helpers/ponder.js";

const SIZES = { small: 100, medium: 1_000, large: 5_000 } as const;
const { values } = parseArgs({
  options: { size: { type: "string", default: "small" }, attendees: { type: "string" }, batch: { type: "string", default: "100" } },
});
const n = values.attendees ? Number(values.attendees) : SIZES[values.size as keyof typeof SIZES];
const batch = Number(values.batch);
if (!(n > 0) || !(batch > 0 && batch <= 500)) {
  console.error(`usage: --size ${Object.keys(SIZES).join("|")} | --attendees N, --batch 1..500`);
  process.exit(2);
}
const log = (line: string) => console.log(`[bench] ${line}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const deployer = devnetAccounts()[DEPLOYER_INDEX]!;
const devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
const database = await createTestDatabase();
const store = createOffchainStore({ databaseUrl: database.url, poolSize: 4 });
const ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
const indexed = connectIndexedDb({ databaseUrl: POSTGRES_URL, schema: ponder.schema, max: 2 });
const logger = createLogger({ level: "warn" });
const network = setupFromDeployments(devnet.deployments);
const signers = createServerSigners({ chains: network.chains, privateKey: deployer.privateKey as `0x${string}`, pollingInterval: 20 });
const queue = createJobQueue({
  config: loadConfig({ NODE_ENV: "test", EVENTS_DISTRIBUTION_BATCH_SIZE: String(batch) }),
  store,
  kv: new MemoryKeyValueStore(),
  logger,
  network,
  signers,
});

try {
  await store.migrate();
  await waitForHead(ponder, devnet.deployments);
  const chain = network.chains[0]!;
  const contract = getAddress(network.deployments.find((d) => d.slug === "cosmic")!.token);
  const signer = signers.get(chain.chainId)!;
  const indexedCount = async () =>
    Number(
      (
        await indexed.db
          .select({ c: sql<number>`count(*)` })
          .from(indexedTables.token)
          .where(eq(indexedTables.token.contract, contract.toLowerCase() as Address))
      )[0]!.c,
    );
  const untilIndexed = async (count: number) => {
    while ((await indexedCount()) < count) await new Promise((r) => setTimeout(r, 50));
  };
  const wallets = (k: number) => Array.from({ length: k }, () => privateKeyToAccount(generatePrivateKey()).address);
  log(`${n} attendees, batches of ${batch}, chain ${chain.chainId}, Ponder schema ${ponder.schema}`);

  // 1. Baseline: raw mintBatch.
  const baseRecipients = wallets(n);
  let t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    const to = baseRecipients.slice(i, i + batch);
    await signer.write({
      address: contract,
      abi: CosmicONFT721Abi,
      functionName: "mintBatch",
      args: [to, to.map((_, k) => tokenIdInRange(chain.eid, BigInt(10_000_000 + i + k)))],
    });
  }
  const baseChainMs = performance.now() - t0;
  await untilIndexed(n);
  const baseIndexMs = performance.now() - t0;

  // 2. The distribute-nfts job.
  const attendees = wallets(n);
  const eventId = await seedAttendedEvent(store.db, { organizer: deployer.address, chain, contract, attendees, name: "bench" });
  await queue.start();
  t0 = performance.now();
  const { job } = await queue.enqueue({ type: "distribute-nfts", data: { eventId }, createdBy: "bench" });
  for (;;) {
    const row = await getJob(store.db, job.id);
    if (row?.status === "completed") break;
    if (row?.status === "failed") throw new Error(`distribution failed: ${row.error}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const jobMs = performance.now() - t0;
  await untilIndexed(2 * n);
  const jobIndexMs = performance.now() - t0;
  const minted = Number(
    (
      await store.db
        .select({ c: sql<number>`count(*)` })
        .from(eventParticipants)
        .where(and(eq(eventParticipants.eventId, eventId), eq(eventParticipants.distributionStatus, "minted")))
    )[0]!.c,
  );
  if (minted !== n) throw new Error(`only ${minted}/${n} recorded as minted`);

  const rows = [
    ["raw mintBatch (baseline)", baseChainMs, baseIndexMs],
    ["distribute-nfts job", jobMs, jobIndexMs],
  ] as const;
  console.log("");
  console.log(`| ${n} tokens, batch ${batch} | confirmed | visible in index | tokens/s (indexed) |`);
  console.log("|---|---|---|---|");
  for (const [name, chainMs, indexMs] of rows) console.log(`| ${name} | ${secs(chainMs)} | ${secs(indexMs)} | ${Math.round(n / (indexMs / 1000))} |`);
  console.log("");
  log(
    `job overhead over the baseline: ${((jobMs / baseChainMs - 1) * 100).toFixed(0)} % (confirmed), ${((jobIndexMs / baseIndexMs - 1) * 100).toFixed(0)} % (indexed)`,
  );
  if (n >= 1000) log(`target: 1,000 attendees minted and indexed in < 30 s → ${jobIndexMs * (1000 / n) < 30_000 ? "met" : "NOT met"}`);
} finally {
  await queue.close();
  await indexed.close();
  await cleanupPonder(ponder);
  await store.close();
  await database.drop();
  await devnet.stop();
}
