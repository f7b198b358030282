/**
 * The ERC-4906 follower against a Ponder-shaped index (no chain, no Ponder): first start skips
 * history; new announcements become one refresh-metadata job per deployment per tick; nothing is
 * enqueued twice; a row re-mined at or below the cursor (within the reorg window) is still seen; a
 * handled row that a reorg removed is re-resolved once more; work the queue refused is queued on
 * the next tick.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IndexedDb, connectIndexedDb } from "../../read/db.js";
import type { IndexCommits } from "../../read/commits.js";
import { MetadataFollower } from "../../jobs/metadataFollower.js";
import { createLogger } from "../../infra/logger.js";
import type { EnqueueRequest, JobRow } from "../../jobs/types.js";
import { type OffchainStore, createOffchainStore } from "../../offchain/store.js";
import { createTestDatabase } from "../api/helpers.js";
import { waitFor } from "../helpers/devnet.js";
import { createPonderShapedSchema, ponderCheckpoint } from "../helpers/indexSchema.js";

const CHAIN = 31337;
const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
let store: OffchainStore;
let indexed: IndexedDb;
let follower: MetadataFollower;
const enqueued: EnqueueRequest[] = [];
const queue = { down: false };

beforeAll(async () => {
  db = await createTestDatabase();
  store = createOffchainStore({ databaseUrl: db.url, poolSize: 2 });
  await store.migrate();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await createPonderShapedSchema(client, "idx", [{ name: "devnet", chainId: CHAIN, block: 100 }]);
  indexed = connectIndexedDb({ databaseUrl: db.url, schema: "idx", max: 2 });
  const jobs = {
    async enqueue(request: EnqueueRequest) {
      if (queue.down) throw new Error("Redis unavailable");
      enqueued.push(request);
      return { job: { id: randomUUID() } as JobRow, created: true };
    },
  };
  follower = new MetadataFollower({ indexed, store, jobs, logger: createLogger({ level: "silent" }), finalityBlocks: 5 });
});
afterAll(async () => {
  await indexed?.close();
  await client?.end();
  await store?.close();
  await db?.drop();
});

const tx = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
async function announce(block: number, logIndex: number, from: bigint, to: bigint, txn = block) {
  await client.query(`INSERT INTO metadata_update VALUES ($1, $2, $3, $4, 'cosmic', $5, $6, $7, $8)`, [
    CHAIN,
    block,
    logIndex,
    CONTRACT,
    from.toString(),
    to.toString(),
    tx(txn),
    1_700_000_000 + block,
  ]);
}
const indexedUpTo = (block: number) => client.query(`UPDATE _ponder_checkpoint SET latest_checkpoint = $1`, [ponderCheckpoint(CHAIN, block)]);
const take = () => enqueued.splice(0).map((r) => r.data);

describe("metadata follower", () => {
  it("first start: history is not replayed", async () => {
    await announce(90, 0, 1n, 1n);
    expect(await follower.tick()).toMatchObject({ leader: true, updates: 0, jobs: [] });
    expect(take()).toEqual([]);
  });

  it("new announcements: one job per deployment, ids and ranges; never twice", async () => {
    await announce(101, 3, 7n, 7n);
    await announce(102, 0, 10n, 20n);
    await indexedUpTo(102);
    expect(await follower.tick()).toMatchObject({ leader: true, updates: 2, reverted: 0 });
    const [job, ...rest] = take();
    expect(rest).toEqual([]);
    expect(job).toMatchObject({
      collection: "cosmic",
      chainId: CHAIN,
      contract: CONTRACT,
      tokenIds: ["7"],
      ranges: [["10", "20"]],
      cause: { kind: "BatchMetadataUpdate", blockNumber: "101", logIndex: 3, txHash: tx(101) },
    });
    expect(enqueued).toEqual([]);
    await indexedUpTo(103);
    expect((await follower.tick()).updates).toBe(0);
    expect(take()).toEqual([]);
  });

  it("reorg: a row re-mined at or below the cursor is seen; a vanished one is re-resolved once", async () => {
    // Block 102 replaced: its batch announcement is gone, another transaction announces token 8 there.
    await client.query(`DELETE FROM metadata_update WHERE block_number = 102`);
    await announce(102, 0, 8n, 8n, 9102);
    await announce(99, 1, 5n, 5n);
    expect(await follower.tick()).toMatchObject({ updates: 2, reverted: 1 });
    const [job] = take();
    expect(new Set(job!.tokenIds as string[])).toEqual(new Set(["5", "8"]));
    expect(job!.ranges).toEqual([["10", "20"]]);
    expect((await follower.tick()).updates).toBe(0);
    expect(take()).toEqual([]);
  });

  it("the queue down: the cursor moves, the work waits and is queued on the next tick", async () => {
    await announce(104, 0, 30n, 30n);
    await indexedUpTo(104);
    queue.down = true;
    await expect(follower.tick()).rejects.toThrow(/Redis unavailable/);
    queue.down = false;
    expect(await follower.tick()).toMatchObject({ updates: 1 });
    expect(take().map((d) => d.tokenIds)).toEqual([["30"]]);
    expect((await follower.tick()).updates).toBe(0);
  });

  it("commits wake it after the notifier, coalesced: a burst of commits is one tick, pollMs later", async () => {
    let listener: (() => void) | undefined;
    const commits: IndexCommits = {
      live: true,
      subscribe(fn) {
        listener = fn;
        return () => {
          listener = undefined;
        };
      },
      close: async () => {},
    };
    const ticks: number[] = [];
    const started = performance.now();
    const woken = new MetadataFollower({
      indexed: { ...indexed, commits },
      store,
      jobs: { enqueue: async () => ({ job: { id: randomUUID() } as JobRow, created: true }) },
      logger: createLogger({ level: "silent" }),
      finalityBlocks: 5,
      pollMs: 300,
      idleTickMs: 60_000,
    });
    const tick = woken.tick.bind(woken);
    woken.tick = async () => {
      ticks.push(performance.now() - started);
      return tick();
    };
    woken.start();
    try {
      await waitFor(async () => ticks.length === 1, 5_000, "the start's tick");
      await sleep(50);
      const committed = performance.now() - started;
      for (let i = 0; i < 5; i++) listener!(); // a bridge landing: several blocks at once
      await sleep(150);
      expect(ticks).toHaveLength(1); // not at once: the notifier has the database first
      await waitFor(async () => ticks.length === 2, 5_000, "the commits' tick");
      expect(ticks[1]!).toBeGreaterThanOrEqual(committed + 290);
      await sleep(400);
      expect(ticks).toHaveLength(2); // five commits, one tick
    } finally {
      await woken.stop();
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
