/**
 * A process-wide bound on tokenURI resolutions (fetch + image decode), beyond the per-token
 * cooldown: many different tokens refreshed at once never run more than METADATA_MAX_CONCURRENT
 * fetches; METADATA_MAX_QUEUED more wait; the rest are refused with 503 METADATA_BUSY at once.
 * The chain is a minimal JSON-RPC endpoint answering tokenURI; the metadata host a local fixture.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { encodeFunctionResult } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import type { RequestDeps } from "../../api/http/context.js";
import { metadataBusy, refreshOnchainMetadata } from "../../domain/nfts/metadata.js";
import { nftSettings } from "../../infra/config/nfts.js";
import { createTestApp, type TestApp } from "../api/helpers.js";
import { fakeNetwork } from "../events/helpers.js";

let t: TestApp;
const servers: http.Server[] = [];
let inFlight = 0;
let maxInFlight = 0;
let metaPort = 0;

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  t = await createTestApp({ kv: "redis" });
  metaPort = await listen((_req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ name: "slow" }));
    }, 300);
  });
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await t?.close();
});

describe("metadata resolution bound", () => {
  it("runs at most METADATA_MAX_CONCURRENT at once, queues METADATA_MAX_QUEUED, refuses the rest with METADATA_BUSY", async () => {
    const tokenUri = `http://127.0.0.1:${metaPort}/slow.json`;
    const rpcPort = await listen((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const { id } = JSON.parse(body) as { id: number };
        const result = encodeFunctionResult({ abi: CosmicONFT721Abi, functionName: "tokenURI", result: tokenUri });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, result }));
      });
    });
    const network = fakeNetwork();
    network.chains[0]!.rpcUrl = `http://127.0.0.1:${rpcPort}`;
    const nft = nftSettings({ dataDir: t.deps.config.dataDir, metadataMaxConcurrent: 2, metadataMaxQueued: 1, fetchAllowHosts: [`127.0.0.1:${metaPort}`] });
    const deps = { ...t.deps, network, nft } as unknown as RequestDeps;
    const where = { chainId: network.chains[0]!.chainId, contract: network.deployments[0]!.token };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => refreshOnchainMetadata(deps, { collection: "cosmic", tokenId: BigInt(i + 1), id: `cosmic:${i + 1}` }, where)),
    );
    const done = outcomes.filter((o) => o.status === "fulfilled").map((o) => (o as PromiseFulfilledResult<{ metadata: unknown }>).value);
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason as { kind: string; code: string });
    expect(maxInFlight).toBe(2);
    expect(done).toHaveLength(3);
    for (const row of done) expect(row.metadata).toEqual({ name: "slow" });
    expect(refused).toHaveLength(5);
    // "unavailable" is what api/http answers as 503.
    for (const r of refused) expect([r.kind, r.code]).toEqual(["unavailable", "METADATA_BUSY"]);
    // Room again once they finished.
    expect(metadataBusy(deps)).toBe(false);
    expect((await refreshOnchainMetadata(deps, { collection: "cosmic", tokenId: 99n, id: "cosmic:99" }, where)).metadata).toEqual({ name: "slow" });
  });
});
