/**
 * mint-nfts: the asynchronous mode of POST /nfts (`Prefer: respond-async`). The job runs the same
 * mint as the synchronous route (domain/nfts/mint.ts) under an idempotency key — the client's, or
 * `job:<job id>` when it sent none — so a retried attempt (a worker killed mid-mint, the RPC down
 * after sending) settles the first attempt's transaction from the chain and never mints twice.
 *
 * Progress (GET /jobs/:id): `stage` queued → sent (`txHash`, `tokenIds`) → mined (`txHash`,
 * `blockNumber`, `tokenIds`; the job's `result` is the synchronous answer) or failed (`error:
 * { code, message }`, the codes of the synchronous route). A refusal (MINT_REJECTED, NOT_DEPLOYED,
 * MINTER_NOT_AUTHORIZED, ...) fails at once; an unknown outcome (CHAIN_UNAVAILABLE,
 * MINT_UNCONFIRMED) retries with backoff until the job's attempts run out. The end pushes
 * `mint:completed` / `mint:failed` (the creator's `user:` room, and the in-process push hook).
 */
import type { Principal } from "../api/http/context.js";
import { ServiceError } from "../api/http/errors.js";
import { type MintRequest, mint } from "../domain/nfts/mint.js";
import { mintCompletedPush, mintFailedPush } from "../realtime/nftPushes.js";
import { announcePush } from "../realtime/publish.js";
import { MINT_NFTS } from "./names.js";
import { serviceDeps } from "./serviceDeps.js";
import { type JobContext, PermanentJobError, type WorkerDeps } from "./types.js";

export { MINT_NFTS };

export type MintJobData = { principal: Principal; request: MintRequest; idempotencyKey: string | null; requestHash: string };

/** Failures that another attempt cannot change. */
const PERMANENT = new Set([
  "MINT_REJECTED",
  "MINTER_NOT_AUTHORIZED",
  "NOT_DEPLOYED",
  "NOT_MINTABLE",
  "UNKNOWN_CHAIN",
  "COLLECTION_NOT_FOUND",
  "IDEMPOTENCY_KEY_REUSED",
  "NETWORK_UNAVAILABLE",
]);

export async function mintNfts(workerDeps: WorkerDeps, raw: Record<string, unknown>, ctx: JobContext) {
  const data = raw as unknown as MintJobData;
  const deps = serviceDeps(workerDeps);
  const key = data.idempotencyKey ?? `job:${ctx.jobId}`;
  let progress: Record<string, unknown> = { stage: "queued" };
  const report = async (next: Record<string, unknown>) => {
    progress = next;
    await ctx.progress(progress);
  };
  try {
    const { result } = await mint(deps, data.principal, data.request, key, {
      onSent: ({ txHash, tokenIds }) => report({ stage: "sent", txHash, tokenIds: tokenIds.map(String) }),
      // A later attempt takes over the row an earlier (dead) attempt left pending, at once.
      ...(ctx.attempt > 1 ? { abandonedAfterMs: 0 } : {}),
    });
    await report({ stage: "mined", txHash: result.txHash, blockNumber: result.blockNumber, tokenIds: result.tokens.map((t) => t.tokenId) });
    await announcePush(deps.kv, deps.logger, mintCompletedPush(ctx.jobId, data.principal, result), {
      store: deps.store,
      maxAttempts: deps.config.webhooks.maxAttempts,
    });
    return result;
  } catch (error) {
    const code = error instanceof ServiceError ? error.code : "MINT_FAILED";
    const message = error instanceof ServiceError ? error.message : "the mint failed (see the server log)";
    const last = PERMANENT.has(code) || ctx.attempt >= (ctx.maxAttempts ?? 1);
    if (!last) {
      // Another attempt follows; a transaction already sent stays in the progress (stage sent).
      await report({ ...progress, lastError: { code, message }, attempt: ctx.attempt });
      throw error;
    }
    await report({ ...progress, stage: "failed", error: { code, message } });
    await announcePush(deps.kv, deps.logger, mintFailedPush(ctx.jobId, data.principal, data.request, { code, message }), {
      store: deps.store,
      maxAttempts: deps.config.webhooks.maxAttempts,
    });
    throw new PermanentJobError(`${code}: ${message}`);
  }
}
