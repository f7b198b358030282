/**
 * Reconcile: compares the index with the chains. For every indexed token row, reads `ownerOf` on
 * its chain at the block the index is at (from Ponder's /status, so a lagging indexer is not a
 * mismatch), and checks the omnichain invariant: every token is on exactly one chain, or in flight.
 */
import type { Address } from "viem";
import { LegacyERC721Abi } from "../abis/LegacyERC721Abi.js";
import { deriveLocation, type ReceiveRowLike, type SendRowLike, type TokenRowLike } from "./omnichain.js";
import type { IndexerSetup } from "./setup.js";
import { createReadClient } from "../chain/readClient.js";

export type ReconcileResult = { checkedTokens: number; checkedChains: number; mismatches: string[] };

async function gqlAll<T>(url: string, table: string, fields: string): Promise<T[]> {
  const rows: T[] = [];
  let after: string | null = null;
  for (;;) {
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `query($after: String) { ${table}(limit: 1000, after: $after) { items { ${fields} } pageInfo { hasNextPage endCursor } } }`,
        variables: { after },
      }),
    });
    const body = (await res.json()) as {
      data?: Record<string, { items: T[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>;
      errors?: { message: string }[];
    };
    if (!body.data) throw new Error(`GraphQL ${table}: ${body.errors?.map((e) => e.message).join("; ") ?? res.status}`);
    const page = body.data[table]!;
    rows.push(...page.items);
    if (!page.pageInfo.hasNextPage) return rows;
    after = page.pageInfo.endCursor;
  }
}

type RawToken = Omit<TokenRowLike, "tokenId"> & { tokenId: string };

export async function reconcile(setup: IndexerSetup, ponderUrl: string): Promise<ReconcileResult> {
  const mismatches: string[] = [];
  const status = (await (await fetch(`${ponderUrl}/status`)).json()) as Record<string, { id: number; block?: { number: number } | null }>;
  const indexedBlock = new Map(Object.values(status).map((s) => [s.id, s.block?.number]));

  const [rawTokens, rawSends, rawReceives] = await Promise.all([
    gqlAll<RawToken>(ponderUrl, "tokens", "chainId contract tokenId collection owner state updatedOrderKey"),
    gqlAll<Omit<SendRowLike, "timestamp"> & { timestamp: string; collection: string; tokenId: string }>(
      ponderUrl,
      "bridgeSends",
      "guid chainId dstChainId dstEid recipient fromAddress timestamp txHash orderKey collection tokenId",
    ),
    gqlAll<ReceiveRowLike & { deliveredTimestamp: string | null; failedTimestamp: string | null }>(
      ponderUrl,
      "bridgeReceives",
      "guid chainId status failureReason deliveredTimestamp failedTimestamp deliveredTxHash",
    ),
  ]);
  const tokens: TokenRowLike[] = rawTokens.map((t) => ({ ...t, tokenId: BigInt(t.tokenId) }));
  const sends = rawSends.map((s) => ({ ...s, timestamp: BigInt(s.timestamp) }));
  const receives = rawReceives.map((r) => ({
    ...r,
    deliveredTimestamp: r.deliveredTimestamp === null ? null : BigInt(r.deliveredTimestamp),
    failedTimestamp: r.failedTimestamp === null ? null : BigInt(r.failedTimestamp),
  }));

  // 1. Per-chain rows against ownerOf at the indexed block.
  for (const chain of setup.chains) {
    const block = indexedBlock.get(chain.chainId);
    const rows = tokens.filter((t) => t.chainId === chain.chainId);
    if (block === undefined) {
      if (rows.length) mismatches.push(`chain ${chain.chainId}: ${rows.length} indexed tokens but the indexer reports no block`);
      continue;
    }
    const client = createReadClient(chain.rpcUrl, { batchSize: 200 });
    // In chunks: one promise (and viem request) per token at once ran the process out of heap at 200k tokens.
    const owners: (string | null)[] = [];
    for (let i = 0; i < rows.length; i += 2_000) {
      owners.push(
        ...(await Promise.all(
          rows.slice(i, i + 2_000).map((row) =>
            client
              .readContract({
                address: row.contract as Address,
                abi: LegacyERC721Abi,
                functionName: "ownerOf",
                args: [row.tokenId],
                blockNumber: BigInt(block),
              })
              .then((o) => o.toLowerCase())
              .catch(() => null),
          ),
        )),
      );
    }
    rows.forEach((row, i) => {
      const onChain = owners[i];
      const where = `${row.collection} #${row.tokenId} on chain ${row.chainId} (block ${block})`;
      const dep = setup.deployments.find((d) => d.chainId === row.chainId && d.token.toLowerCase() === row.contract.toLowerCase());
      if (row.state === "present" || row.state === "locked") {
        if (onChain !== row.owner.toLowerCase())
          mismatches.push(`${where}: index says ${row.state} owned by ${row.owner}, chain says ${onChain ?? "nonexistent"}`);
        if (row.state === "locked" && dep && row.owner.toLowerCase() !== dep.address.toLowerCase())
          mismatches.push(`${where}: locked but owner ${row.owner} is not the adapter ${dep.address}`);
      } else if (onChain !== null) {
        mismatches.push(`${where}: index says ${row.state}, chain says owned by ${onChain}`);
      }
    });
  }

  // 2. Omnichain invariant: exactly one chain, or in flight.
  const groups = new Map<string, TokenRowLike[]>();
  for (const t of tokens) {
    const key = `${t.collection}:${t.tokenId}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, rows] of groups) {
    const tokenSends = sends.filter((s) => `${s.collection}:${s.tokenId}` === key);
    const guids = new Set(tokenSends.map((s) => s.guid));
    const view = deriveLocation(
      rows,
      tokenSends,
      receives.filter((r) => guids.has(r.guid)),
    );
    if (!view.consistent) {
      mismatches.push(
        `${key}: not on exactly one chain or in flight (present on [${rows
          .filter((r) => r.state === "present")
          .map((r) => r.chainId)
          .join(", ")}], ` + `undelivered sends ${tokenSends.filter((s) => !receives.some((r) => r.guid === s.guid && r.status === "DELIVERED")).length})`,
      );
    }
  }
  // 3. Orphans: a delivered receive whose send is indexed must name a token the index knows.
  for (const r of receives) {
    if (!groups.size) break;
    const send = sends.find((s) => s.guid === r.guid);
    if (r.status === "DELIVERED" && send && !groups.has(`${send.collection}:${send.tokenId}`))
      mismatches.push(`bridge ${r.guid}: delivered token ${send.tokenId} not indexed`);
  }
  return { checkedTokens: tokens.length, checkedChains: setup.chains.length, mismatches };
}
