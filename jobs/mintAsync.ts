/**
 * POST /nfts with `Prefer: respond-async`: the request is checked as the synchronous one is (4xx
 * before anything is queued), then queued as a mint-nfts job (jobs/mintNfts.ts) and answered 202
 * with the job. With an Idempotency-Key the same key answers with the same job — queued, running,
 * or finished — and a different body with 422 IDEMPOTENCY_KEY_REUSED; only after a failed job does
 * the key queue a new one (which settles from the chain whatever the failed one may have sent).
 */
import type { JobQueue, JobRow } from "./types.js";
import { MINT_NFTS } from "./names.js";
import { latestJobByKey } from "./store.js";
import type { ServiceDeps } from "../domain/deps.js";
import type { Principal } from "../domain/auth/principal.js";
import { dependencyDown, unprocessable } from "../infra/errors.js";
import { type MintRequest, prepareMint, principalKey } from "../domain/nfts/mint.js";

/** True when a `Prefer` header asks for respond-async (RFC 7240: comma-separated preferences, parameters after `;` or `=`). */
export function prefersAsync(prefer: string | undefined): boolean {
  if (!prefer) return false;
  return prefer.split(",").some((p) => p.split(/[;=]/)[0]!.trim().toLowerCase() === "respond-async");
}

/** The principal as stored with the job: who may read it, whose room its pushes go to (no session id). */
const storedPrincipal = (p: Principal): Principal =>
  p.kind === "user"
    ? { kind: "user", address: p.address, roles: p.roles, sessionId: "" }
    : { kind: "apiKey", apiKeyId: p.apiKeyId, name: p.name, roles: p.roles };

const reused = () => unprocessable("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");

export async function enqueueMint(
  deps: ServiceDeps,
  jobs: JobQueue | undefined,
  principal: Principal,
  request: MintRequest,
  idempotencyKey: string | undefined,
): Promise<{ job: JobRow; created: boolean }> {
  const { requestHash } = prepareMint(deps, request);
  if (!jobs) throw dependencyDown("JOBS_UNAVAILABLE", "background jobs are not configured in this process");
  const who = principalKey(principal);
  const dedupeKey = idempotencyKey ? `${MINT_NFTS}:${who}:${idempotencyKey}` : undefined;
  if (dedupeKey) {
    const previous = await latestJobByKey(deps.store.db, dedupeKey);
    if (previous && previous.data.requestHash !== requestHash) throw reused();
    if (previous && previous.status !== "failed") return { job: previous, created: false };
  }
  const { job, created } = await jobs.enqueue({
    type: MINT_NFTS,
    data: { principal: storedPrincipal(principal), request, idempotencyKey: idempotencyKey ?? null, requestHash },
    createdBy: who,
    dedupeKey,
    progress: { stage: "queued" },
  });
  if (!created && job.data.requestHash !== requestHash) throw reused();
  return { job, created };
}
