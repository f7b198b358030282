/**
 * `npm run bench:graphql [-- --size small|medium|large] [--connections 100] [--duration 5] [--rounds 3]`
 *
 * The seed's two GraphQL reads against their REST routes on the same data, the REST route being the
 * baseline measured in the same run (docs/graphql.md):
 *   - `nft(id)` (the README's Nft query) vs `GET /nfts/{id}`: one hot NFT, both through the cache;
 *   - `nftsByOwner(owner, first: 50) { id owner chain { id } }` vs `GET /nfts/owner/{address}?limit=50`
 *     over 200 random owners (100 tokens each); GraphQL resolves each node through the NFT view
 *     (cache, then one batched load per request), REST lists index rows only.
 * A server process (this file with `--serve`) builds the index of bench/lib/nftIndex.ts (small 20k,
 * medium 200k, large 1M tokens) and serves the app as production runs it (ops config: CORS, rate
 * limits in Redis with budgets the load never exhausts, Redis cache, read-only pool); this process
 * loads it with autocannon, `--rounds` interleaved rounds, each row the median round.
 * Everything it creates is dropped at the end.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
// @ts-expect-error autocannon ships no types
import autocannon from "autocannon";
import { buildApp } from "../api/app.js";
import { JwtKeys } from "../domain/auth/jwt.js";
import { connectIndexedDb } from "../read/db.js";
import { nftSettings } from "../infra/config/nfts.js";
import { tokenIdInRange } from "../chain/onft.js";
import { setupFromDeployments } from "../indexer/setup.js";
import { loadConfig } from "../infra/config/index.js";
import { createLogger } from "../infra/logger.js";
import { loadOpsConfig } from "../infra/config/ops.js";
import { RedisKeyValueStore } from "../infra/redis.js";
import { createOffchainStore } from "../offchain/store.js";
import { readmeOperations } from "../test/graphql/queries.js";
import { EID_A, SIZES, benchNetwork, listen, ownerOf, startBenchBackend } from "./lib/nftIndex.js";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    connections: { type: "string", default: "100" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    serve: { type: "boolean", default: false },
  },
});
const TOKENS = SIZES[values.size as keyof typeof SIZES] ?? Number(values.size);
if (!(TOKENS > 0)) throw new Error("--size small|medium|large or a token count");
const CONNECTIONS = Number(values.connections);
const DURATION = Number(values.duration);
const ROUNDS = Math.max(1, Number(values.rounds));
const NFT_QUERY = readmeOperations().find((o) => o.startsWith("query Nft("))!;
const OWNER_QUERY = "query($o: String!) { nftsByOwner(owner: $o, first: 50) { id owner chain { id } } }";

type Ready = { type: "ready"; url: string; nftId: string; indexSeconds: number };

async function serveMain() {
  const backend = await startBenchBackend(
    { JwtKeys, connectIndexedDb, loadConfig, loadOpsConfig, RedisKeyValueStore, createOffchainStore },
    {
      prefix: "bench_gql",
      tokens: TOKENS,
      logLevel: "warn",
      opsEnv: { RATE_LIMIT_PER_IP: "1000000000", RATE_LIMIT_PER_WALLET: "1000000000", RATE_LIMIT_GRAPHQL_PER_IP: "1000000000" },
    },
  );
  const { dataDir, kv, index, indexed, store, config, ops, keys, cleanups, runCleanups } = backend;
  process.on("message", (m: { type: string }) => m.type === "stop" && void runCleanups().finally(() => process.exit(0)));
  try {
    const app = buildApp({
      config,
      store,
      kv,
      logger: createLogger({ level: "warn" }),
      keys,
      verifiers: new Map(),
      network: benchNetwork(setupFromDeployments),
      indexed,
      nft: nftSettings({ dataDir }),
      ops,
    });
    const server = await listen(app.fetch);
    cleanups.push(() => server.close());
    const nftId = `cosmic:${tokenIdInRange(EID_A, 0n)}`;
    // Both answer before the load, and say the same thing.
    const rest = (await (await fetch(`${server.url}/nfts/${nftId}`)).json()) as { owner: string };
    const gql = (await (
      await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: NFT_QUERY, variables: { id: nftId } }),
      })
    ).json()) as {
      data?: { nft: { owner: string } };
      errors?: unknown[];
    };
    if (gql.errors || gql.data?.nft.owner !== rest.owner) throw new Error(`GraphQL and REST disagree: ${JSON.stringify(gql)} vs ${JSON.stringify(rest)}`);
    process.send!({ type: "ready", url: server.url, nftId, indexSeconds: index.seconds } satisfies Ready);
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

type Result = { rps: number; p50: number; p99: number; errors: number; non2xx: number };
async function cannon(url: string, requests: autocannon.Request[]): Promise<Result> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

async function main() {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), "--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once("message", (m: Ready) => resolve(m));
      child.once("exit", (code) => reject(new Error(`the server process exited (${code}) before it was ready`)));
    });
    console.log(`  inserted in ${ready.indexSeconds.toFixed(1)} s; autocannon: ${CONNECTIONS} connections × ${DURATION} s, ${ROUNDS} interleaved rounds`);
    const post = (query: string, variables: Record<string, unknown>) => ({
      method: "POST" as const,
      path: "/graphql",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const owners = Array.from({ length: 200 }, () => ownerOf(Math.floor(Math.random() * (TOKENS - 5000))));
    const phases: Record<string, autocannon.Request[]> = {
      restNft: [{ method: "GET", path: `/nfts/${ready.nftId}` }],
      gqlNft: [post(NFT_QUERY, { id: ready.nftId })],
      restOwner: owners.map((o) => ({ method: "GET", path: `/nfts/owner/${o}?limit=50` })),
      gqlOwner: owners.map((o) => post(OWNER_QUERY, { o })),
    };
    const results = new Map<string, Result[]>(Object.keys(phases).map((k) => [k, []]));
    for (let round = 0; round < ROUNDS; round++)
      for (const [name, requests] of Object.entries(phases)) results.get(name)!.push(await cannon(ready.url, requests));
    const median = (name: string) => [...results.get(name)!].sort((a, b) => a.rps - b.rps)[Math.floor(ROUNDS / 2)]!;
    const rows: [string, Result][] = [
      ["GET /nfts/{id} (baseline)", median("restNft")],
      ["GraphQL nft(id)", median("gqlNft")],
      ["GET /nfts/owner/{address}?limit=50 (baseline)", median("restOwner")],
      ["GraphQL nftsByOwner(owner, first: 50)", median("gqlOwner")],
    ];
    console.log(`\n| measurement | req/s | p50 ms | p99 ms | errors | non-2xx |\n|---|---|---|---|---|---|`);
    for (const [name, r] of rows) console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
    const ratio = (a: string, b: string) => ((median(a).rps / median(b).rps) * 100).toFixed(0);
    console.log(
      `\nnft(id): ${ratio("gqlNft", "restNft")} % of REST's throughput, p99 ${median("gqlNft").p99} ms vs ${median("restNft").p99} ms (${TOKENS.toLocaleString()} tokens, ${CONNECTIONS} connections)`,
    );
    console.log(
      `nftsByOwner: ${ratio("gqlOwner", "restOwner")} % of REST's throughput, p99 ${median("gqlOwner").p99} ms vs ${median("restOwner").p99} ms (target p99 < 30 ms at 1M tokens)`,
    );
  } finally {
    if (child.exitCode === null && child.connected) child.send({ type: "stop" });
    await exited;
  }
}

if (values.serve) await serveMain();
else {
  await main();
  process.exit(0);
}
