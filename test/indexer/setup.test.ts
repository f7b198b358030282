/**
 * Real-network indexer setup from env (indexer/setup.ts, loadReal): a collections file plus
 * RPC_URL_<CHAIN>; several comma-separated RPC URLs go to Ponder as a list (it balances and fails
 * over between them, which matters after an RPC node dies: test/resilience/rpc-outage.test.ts);
 * wrong settings throw one IndexerConfigError naming the variable.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IndexerConfigError, loadIndexerSetup } from "../../indexer/setup.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "cosmic-setup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, "collections.json");
writeFileSync(
  file,
  JSON.stringify({
    collections: [
      {
        slug: "cosmic",
        name: "Cosmic",
        symbol: "CSM",
        deployments: [{ chain: "ethereum", kind: "onft", address: "0x00000000000000000000000000000000000000C1", startBlock: 100 }],
      },
    ],
  }),
);
const env = (rpc: string | undefined) => ({ PONDER_NETWORK: "mainnet", INDEXER_COLLECTIONS: file, ...(rpc === undefined ? {} : { RPC_URL_ETHEREUM: rpc }) });

describe("real-network setup", () => {
  it("one RPC URL: rpcUrl only", () => {
    const [chain] = loadIndexerSetup(env("https://rpc.one.example")).chains;
    expect(chain).toMatchObject({ name: "ethereum", chainId: 1, eid: 30101, rpcUrl: "https://rpc.one.example", startBlock: 100 });
    expect(chain!.rpcUrls).toBeUndefined();
  });

  it("several comma-separated RPC URLs: all of them for Ponder, the first as rpcUrl", () => {
    const [chain] = loadIndexerSetup(env(" https://rpc.one.example , wss://rpc.two.example ")).chains;
    expect(chain!.rpcUrl).toBe("https://rpc.one.example");
    expect(chain!.rpcUrls).toEqual(["https://rpc.one.example", "wss://rpc.two.example"]);
  });

  it("missing or malformed URLs name the variable", () => {
    expect(() => loadIndexerSetup(env(undefined))).toThrow(/missing RPC_URL_ETHEREUM/);
    expect(() => loadIndexerSetup(env(" , "))).toThrow(/missing RPC_URL_ETHEREUM/);
    expect(() => loadIndexerSetup(env("https://ok.example,ftp://bad.example"))).toThrow(IndexerConfigError);
    expect(() => loadIndexerSetup(env("https://ok.example,ftp://bad.example"))).toThrow(/RPC_URL_ETHEREUM must be http\(s\) or ws\(s\) URLs/);
  });
});
