/**
 * Async mints (issue 12 item 5) end to end: devnet + Ponder (Postgres) + our app with a BullMQ job
 * queue and its workers, the realtime service in-process (stack.ts). `POST /nfts` with
 * `Prefer: respond-async` answers 202 with a mint-nfts job; GET /jobs/{id} goes queued → sent (tx
 * hash, automine paused so the pending stage is visible) → mined (token ids, the synchronous answer
 * as result); mint:completed reaches the creator's socket and the push hook; the same
 * Idempotency-Key answers with the same job; a refused mint (the server key is no longer a minter:
 * the contract reverts NotMinter) ends failed with its code; an unknown outcome (the minter's RPC dies
 * right after the transaction is sent) is retried and settled from the chain, minting once; the
 * synchronous mode is unchanged.
 */
import { type Hex, getAddress, parseEventLogs, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { buildApp } from "../../api/app.js";
import type { ServerSigners } from "../../chain/serverSigners.js";
import { createChainSigner } from "../../chain/signer.js";
import { type RpcProxy, startRpcProxy } from "../../devnet/rpcProxy.js";
import { type Push, onPush } from "../../realtime/publish.js";
import { createJobQueue } from "../../jobs/index.js";
import type { JobQueue } from "../../jobs/types.js";
import { json } from "../api/helpers.js";
import { accounts, collectionOn, deployer, signerFor } from "../helpers/devnet.js";
import { waitUntil } from "../helpers/ponder.js";
import { type TestSocket, connect } from "../realtime/helpers.js";
import { type Stack, startStack } from "./stack.js";

let s: Stack;
let jobs: JobQueue;
let app: ReturnType<typeof buildApp>;
let adminToken: string;
let socket: TestSocket;
const hooked: Push[] = [];
let unhook: () => void;
const [alice, bob] = [accounts[1]!, accounts[2]!];

beforeAll(async () => {
  s = await startStack({ realtime: {} });
  const config = {
    ...s.deps.config,
    redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    redisPrefix: (s.deps.kv as { prefix?: string }).prefix ?? "test:",
  };
  jobs = createJobQueue({ ...s.deps, config: { ...config, jobs: { ...config.jobs, attempts: 3, backoffMs: 100 } } });
  await jobs.start();
  app = buildApp({ ...s.deps, jobs });
  adminToken = await s.adminLogin();
  unhook = onPush((push) => void hooked.push(push));
  // The admin's wallet session (admins pass the minter role): its socket joins user:<admin> by itself.
  socket = await connect(s.realtime.server.url, adminToken);
}, 240_000);

afterAll(async () => {
  unhook?.();
  socket?.close();
  await jobs?.close();
  await s?.stop();
});

const chain = (i: number) => s.deployments.chains[i]!;
const cosmic = (i: number) => collectionOn(s.deployments, "cosmic", chain(i).chainId);
const rpc = (i: number, method: string, params: unknown[] = []) => signerFor(chain(i), deployer.privateKey).publicClient.request({ method, params } as never);
async function call(path: string, init?: RequestInit) {
  const res = await app.request(path, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
const mintReq = (body: object, headers: Record<string, string> = {}) => json(body, { ...s.bearer(adminToken), ...headers });
const getJob = async (id: string) => (await call(`/jobs/${id}`, { headers: s.bearer(adminToken) })).body;

describe("async mints (Prefer: respond-async)", () => {
  it("202 with a job at once; queued → sent (tx hash) → mined (token ids); completion pushed; same key → same job", async () => {
    const body = { collection: "cosmic", chainId: chain(0).chainId, recipients: [alice.address, bob.address] };
    // Automine paused: the transaction stays pending, so the `sent` stage can be seen.
    await rpc(0, "evm_setAutomine", [false]);
    let jobId: string;
    const stages: string[] = ["queued"];
    try {
      const started = Date.now();
      const res = await call("/nfts", mintReq(body, { prefer: "respond-async", "idempotency-key": "async-order-1" }));
      const answeredMs = Date.now() - started;
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      jobId = res.body.job.id;
      expect(res.headers.get("preference-applied")).toBe("respond-async");
      expect(res.headers.get("location")).toBe(`/jobs/${jobId}`);
      expect(res.body).toMatchObject({ created: true, job: { type: "mint-nfts", status: "queued", progress: { stage: "queued" } } });
      console.log(`async mint: 202 answered in ${answeredMs} ms`);

      const sent = await waitUntil(
        async () => {
          const job = await getJob(jobId);
          if (stages.at(-1) !== job.progress?.stage) stages.push(job.progress?.stage);
          return job.progress?.stage === "sent" ? job : undefined;
        },
        "stage sent",
        20_000,
      );
      expect(sent.progress.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(sent.progress.tokenIds).toHaveLength(2);
      // Still pending on chain.
      expect(await rpc(0, "eth_getTransactionReceipt", [sent.progress.txHash])).toBeNull();

      // A replay while it runs: the same job, not a second mint.
      const replay = await call("/nfts", mintReq(body, { prefer: "respond-async", "idempotency-key": "async-order-1" }));
      expect([replay.status, replay.body.job.id, replay.body.created, replay.headers.get("idempotent-replayed")]).toEqual([202, jobId, false, "true"]);
      await rpc(0, "evm_mine");
    } finally {
      await rpc(0, "evm_setAutomine", [true]);
    }

    const done = await waitUntil(
      async () => {
        const job = await getJob(jobId);
        if (stages.at(-1) !== job.progress?.stage) stages.push(job.progress?.stage);
        return job.status === "completed" || job.status === "failed" ? job : undefined;
      },
      "job finished",
      30_000,
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(stages).toEqual(["queued", "sent", "mined"]);
    expect(done.progress).toMatchObject({ stage: "mined", txHash: expect.stringMatching(/^0x/), tokenIds: expect.any(Array) });
    expect(done.result).toMatchObject({
      collection: "cosmic",
      chainId: chain(0).chainId,
      txHash: done.progress.txHash,
      tokens: [{ to: alice.address }, { to: bob.address }],
    });
    expect(done.result.tokens.map((t: { tokenId: string }) => t.tokenId)).toEqual(done.progress.tokenIds);
    const owner = await signerFor(chain(0), deployer.privateKey).publicClient.readContract({
      address: cosmic(0).address,
      abi: CosmicONFT721Abi,
      functionName: "ownerOf",
      args: [BigInt(done.progress.tokenIds[1])],
    });
    expect(owner).toBe(bob.address);

    // Completion hook: the creator's room on the socket, and the in-process hook (webhooks).
    const push = await socket.next((m) => m.type === "mint:completed" && m.data.jobId === jobId);
    expect(push.rooms).toEqual([`user:${s.admin.address}`]);
    expect(push.data).toMatchObject({ txHash: done.progress.txHash, tokens: done.result.tokens });
    expect(hooked.find((p) => p.id === `mint:completed:${jobId}`)).toBeTruthy();

    // After completion the key still answers with the same job; a different body is refused.
    const later = await call("/nfts", mintReq(body, { prefer: "respond-async", "idempotency-key": "async-order-1" }));
    expect([later.status, later.body.job.id, later.body.job.status]).toEqual([202, jobId, "completed"]);
    const reused = await call("/nfts", mintReq({ ...body, recipients: [alice.address] }, { prefer: "respond-async", "idempotency-key": "async-order-1" }));
    expect([reused.status, reused.body.error.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
    // The synchronous mode with that key replays the job's mint (one mint row, one transaction).
    const sync = await call("/nfts", mintReq(body, { "idempotency-key": "async-order-1" }));
    expect([sync.status, sync.body.txHash]).toEqual([200, done.result.txHash]);
  });

  it("bad input is refused at once, before anything is queued", async () => {
    const base = { collection: "cosmic", chainId: chain(0).chainId, recipients: [alice.address] };
    const async = { prefer: "respond-async" };
    expect((await call("/nfts", mintReq({ ...base, chainId: 1 }, async))).body.error.code).toBe("UNKNOWN_CHAIN");
    expect((await call("/nfts", mintReq({ ...base, collection: "legacy" }, async))).body.error.code).toBe("NOT_MINTABLE");
    expect((await call("/nfts", mintReq({ ...base, recipients: [] }, async))).status).toBe(400);
    expect((await call("/nfts", json(base, async))).status).toBe(401);
    const user = await s.login(alice.privateKey);
    expect((await call("/nfts", json(base, { ...s.bearer(user), ...async }))).body.error.code).toBe("MISSING_ROLE");
  });

  it("a refused mint (NotMinter revert) ends failed with its code; mint:failed pushed", async () => {
    const owner = signerFor(chain(1), deployer.privateKey);
    await owner.write({ address: cosmic(1).address, abi: CosmicONFT721Abi, functionName: "setMinter", args: [deployer.address, false] });
    let jobId: string;
    try {
      const res = await call("/nfts", mintReq({ collection: "cosmic", chainId: chain(1).chainId, recipients: [alice.address] }, { prefer: "respond-async" }));
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      jobId = res.body.job.id;
      const failed = await waitUntil(
        async () => {
          const job = await getJob(jobId);
          return job.status === "failed" || job.status === "completed" ? job : undefined;
        },
        "job failed",
        30_000,
      );
      expect(failed.status).toBe("failed");
      expect(failed.attempts).toBe(1); // a refusal is not retried
      expect(failed.progress).toMatchObject({ stage: "failed", error: { code: "MINTER_NOT_AUTHORIZED", message: expect.any(String) } });
      expect(failed.error).toContain("MINTER_NOT_AUTHORIZED");
    } finally {
      await owner.write({ address: cosmic(1).address, abi: CosmicONFT721Abi, functionName: "setMinter", args: [deployer.address, true] });
    }
    const push = await socket.next((m) => m.type === "mint:failed" && m.data.jobId === jobId);
    expect(push.data).toMatchObject({ collection: "cosmic", chainId: chain(1).chainId, error: { code: "MINTER_NOT_AUTHORIZED" } });
  });

  it("synchronous mode stays the default (no Prefer, or another preference)", async () => {
    const body = { collection: "cosmic", chainId: chain(1).chainId, recipients: [bob.address] };
    const res = await call("/nfts", mintReq(body, { prefer: "return=minimal" }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers.get("preference-applied")).toBeNull();
    expect(res.body).toMatchObject({ collection: "cosmic", chainId: chain(1).chainId, tokens: [{ to: bob.address }] });
    const keyed = await call("/nfts", mintReq(body, { "idempotency-key": "sync-1" }));
    expect(keyed.status).toBe(201);
    const replay = await call("/nfts", mintReq(body, { "idempotency-key": "sync-1" }));
    expect([replay.status, replay.headers.get("idempotent-replayed"), replay.body.txHash]).toEqual([200, "true", keyed.body.txHash]);
  });

  it("unknown outcome: the RPC dies right after sending; the job retries and settles from the chain, minting once", async () => {
    // The job's signer goes through a proxy that dies as soon as a transaction has been sent.
    let proxy: RpcProxy | undefined;
    const armed = { on: true };
    proxy = await startRpcProxy(chain(0).rpcUrl, {
      afterForward(methods) {
        if (armed.on && methods.includes("eth_sendRawTransaction")) {
          armed.on = false;
          setImmediate(() => void proxy!.kill().then(() => setTimeout(() => void proxy!.restart(), 2_500)));
        }
      },
    });
    const signer = createChainSigner({
      chainId: chain(0).chainId,
      rpcUrl: proxy.url,
      privateKey: deployer.privateKey as Hex,
      pollingInterval: 20,
      stuckCheckMs: 200,
      receiptTimeoutMs: 800,
    });
    const signers: ServerSigners = {
      address: signer.address,
      chainIds: [chain(0).chainId],
      get: (id) => (id === chain(0).chainId ? signer : undefined),
    } as ServerSigners;
    const config = {
      ...s.deps.config,
      redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
      redisPrefix: `${(s.deps.kv as { prefix?: string }).prefix ?? "test:"}flaky:`,
    };
    const flakyJobs = createJobQueue({ ...s.deps, signers, config: { ...config, jobs: { ...config.jobs, attempts: 8, backoffMs: 300 } } });
    await flakyJobs.start();
    const flakyApp = buildApp({ ...s.deps, signers, jobs: flakyJobs });
    try {
      const res = await flakyApp.request(
        "/nfts",
        mintReq({ collection: "cosmic", chainId: chain(0).chainId, recipients: [bob.address] }, { prefer: "respond-async" }),
      );
      expect(res.status).toBe(202);
      const jobId = ((await res.json()) as { job: { id: string } }).job.id;
      let sentTx: string | undefined;
      const done = await waitUntil(
        async () => {
          const job = (await (await flakyApp.request(`/jobs/${jobId}`, { headers: s.bearer(adminToken) })).json()) as any;
          if (job.progress?.stage === "sent") sentTx ??= job.progress.txHash;
          return job.status === "completed" || job.status === "failed" ? job : undefined;
        },
        "flaky job finished",
        60_000,
      );
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(done.attempts).toBeGreaterThanOrEqual(2);
      expect(done.progress.stage).toBe("mined");
      expect(sentTx ?? done.progress.txHash).toBe(done.result.txHash);
      console.log(`unknown outcome: completed after ${done.attempts} attempts (RPC down 2.5 s after sending)`);
      // Exactly one mint transaction for that id: the one sent before the RPC died.
      const client = signerFor(chain(0), deployer.privateKey).publicClient;
      const tokenId = BigInt(done.progress.tokenIds[0]);
      const logs = await client.getContractEvents({
        address: cosmic(0).address,
        abi: CosmicONFT721Abi,
        eventName: "Transfer",
        args: { from: zeroAddress, tokenId },
        fromBlock: 0n,
      });
      expect(logs.map((l) => l.transactionHash)).toEqual([done.result.txHash]);
      const receipt = await client.getTransactionReceipt({ hash: done.result.txHash });
      const minted = parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: receipt.logs }).filter((l) => l.args.from === zeroAddress);
      expect(minted.map((l) => getAddress(l.args.to))).toEqual([bob.address]);
    } finally {
      await flakyJobs.close();
      await proxy.close();
    }
  });
});
