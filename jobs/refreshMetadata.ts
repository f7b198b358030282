/**
 * refresh-metadata: re-resolves the on-chain metadata (tokenURI JSON + thumbnail) of a set of tokens
 * and pushes `nft:metadata` for each. Two sources:
 *   - `{ collection }`: every token of the collection present on a chain (POST /collections/{slug}/refresh);
 *   - `{ collection, chainId, contract, tokenIds?, ranges?, cause }`: the tokens an ERC-4906 log
 *     announced (jobs/metadataFollower.ts): ids of MetadataUpdate wherever the token is now,
 *     and the ranges of BatchMetadataUpdate among the tokens present on the announcing deployment.
 * Tokens are read from the index in keyset pages; each resolution waits for a slot of the jobs'
 * bound (METADATA_MAX_CONCURRENT, apart from the routes') and each outbound request for its turn towards its
 * host (METADATA_REFRESH_RATE_PER_SECOND, across processes). Progress `{ total, done, resolved,
 * errors, skipped }` is visible through GET /jobs/:id. A resolution failing to read or fetch is an
 * outcome stored on the token (`errors`), not a job failure; the job fails (and retries) only when
 * the index or the off-chain store cannot be read. Re-running it is harmless.
 */
import { and, asc, eq, inArray, or, sql } from "drizzle-orm";
import pLimit from "p-limit";
import { type IndexedDatabase, indexedTables } from "../read/db.js";
import { refreshOnchainMetadata } from "../domain/nfts/metadata.js";
import { type MetadataCause, metadataPush } from "../realtime/nftPushes.js";
import { formatNftId } from "../domain/nfts/ids.js";
import { pacerFor } from "../chain/metadata/pace.js";
import { announcePush } from "../realtime/publish.js";
import { REFRESH_METADATA } from "./names.js";
import { serviceDeps } from "./serviceDeps.js";
import { type JobContext, PermanentJobError, type WorkerDeps } from "./types.js";

export { REFRESH_METADATA };

export type RefreshMetadataData = {
  collection: string;
  chainId?: number;
  contract?: string;
  tokenIds?: string[];
  ranges?: [string, string][];
  cause?: MetadataCause;
};

export type RefreshMetadataResult = { total: number; resolved: number; errors: number; skipped: number; durationMs: number };

const PAGE = 100;
const PROGRESS_EVERY_MS = 250;
const { token } = indexedTables;

/** The tokens to refresh: present on a chain, and in the job's scope. */
function scopeOf(data: RefreshMetadataData) {
  const present = and(eq(token.collection, data.collection), eq(token.state, "present"));
  if (!data.tokenIds && !data.ranges) return present;
  const parts = [];
  if (data.tokenIds?.length) parts.push(inArray(token.tokenId, data.tokenIds.map(BigInt)));
  if (data.ranges?.length && data.chainId !== undefined && data.contract)
    for (const [from, to] of data.ranges)
      parts.push(
        and(
          eq(token.chainId, data.chainId),
          sql`lower(${token.contract}) = ${data.contract.toLowerCase()}`,
          sql`${token.tokenId} BETWEEN ${from}::numeric AND ${to}::numeric`,
        ),
      );
  return parts.length ? and(present, or(...parts)) : sql`false`;
}

export async function refreshMetadata(workerDeps: WorkerDeps, raw: Record<string, unknown>, ctx: JobContext): Promise<RefreshMetadataResult> {
  const data = raw as RefreshMetadataData;
  if (typeof data.collection !== "string") throw new PermanentJobError("refresh-metadata needs a collection");
  const deps = serviceDeps(workerDeps);
  if (!deps.indexed) throw new PermanentJobError("no indexed database in this worker (DATABASE_URL + INDEXED_SCHEMA)");
  if (!deps.network) throw new PermanentJobError("no chains configured in this worker");
  const db: IndexedDatabase = deps.indexed.db;
  const started = Date.now();
  const where = scopeOf(data);
  const [{ n } = { n: 0 }] = await db.select({ n: sql<number>`count(*)::int` }).from(token).where(where);
  const total = Number(n);
  const counts = { total, done: 0, resolved: 0, errors: 0, skipped: 0 };
  await ctx.progress({ ...counts });
  const pace = pacerFor(deps.kv, deps.nft.metadataRefreshRatePerSecond);
  const limit = pLimit(deps.nft.metadataMaxConcurrent);
  const cause: MetadataCause = data.cause ?? { kind: "refresh", jobId: ctx.jobId };
  let lastProgress = Date.now();
  let after: { chainId: number; contract: string; tokenId: bigint } | undefined;

  for (;;) {
    if (ctx.signal.aborted) throw new Error("refresh interrupted (shutdown); the job runs again");
    const page = await db
      .select({ chainId: token.chainId, contract: token.contract, tokenId: token.tokenId, collection: token.collection })
      .from(token)
      .where(
        after
          ? and(
              where,
              sql`(${token.chainId}, ${token.contract}, ${token.tokenId}) > (${after.chainId}, ${after.contract}, ${after.tokenId.toString()}::numeric)`,
            )
          : where,
      )
      .orderBy(asc(token.chainId), asc(token.contract), asc(token.tokenId))
      .limit(PAGE);
    if (page.length === 0) break;
    await Promise.all(
      page.map((t) =>
        limit(async () => {
          if (ctx.signal.aborted) return;
          const nft = { collection: t.collection, tokenId: t.tokenId, id: formatNftId(t.collection, t.tokenId) };
          const row = await refreshOnchainMetadata(deps, nft, { chainId: t.chainId, contract: t.contract }, { job: true, pace });
          if (row.error && !row.metadata) counts.errors++;
          else counts.resolved++;
          counts.done++;
          await announcePush(deps.kv, deps.logger, metadataPush(deps, nft, row, cause), { store: deps.store, maxAttempts: deps.config.webhooks.maxAttempts });
          if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
            lastProgress = Date.now();
            await ctx.progress({ ...counts });
          }
        }),
      ),
    );
    const last = page[page.length - 1]!;
    after = { chainId: last.chainId, contract: last.contract, tokenId: last.tokenId };
    if (page.length < PAGE) break;
  }
  // Tokens counted but gone by the time their page was read (bridged away, burnt).
  counts.skipped = Math.max(0, counts.total - counts.done);
  await ctx.progress({ ...counts });
  const result = { total: counts.total, resolved: counts.resolved, errors: counts.errors, skipped: counts.skipped, durationMs: Date.now() - started };
  ctx.log.info({ ...result, collection: data.collection, cause: cause.kind }, "metadata refreshed");
  return result;
}
