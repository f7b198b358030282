/**
 * The LayerZero workers' idle() is honest: it covers every block that existed when it was called, on
 * every chain, and never counts a failed poll. Regression for "idle() resolves one cycle early": viem's
 * getBlockNumber answered from its cache (the client's polling interval), so a poll right after a
 * send missed it (~1 idle() in 3 resolved before delivery). Also: a rewound source chain
 * (evm_revert) is rescanned, and a packet of the dropped branch is never delivered.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { sendToken, tokenIdInRange } from "../../chain/onft.js";
import { startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { Devnet } from "../../devnet/start.js";
import { accounts, chainAt, collectionOn, deployer, ownerOf, signerFor, startTestDevnet, waitFor } from "../helpers/devnet.js";

let devnet: Devnet;
const alice = accounts[1]!;
const bob = accounts[2]!;
let serial = 100n;

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 2 });
});
afterAll(async () => {
  await devnet?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Mints a fresh cosmic token to alice on A and sends it to bob on B; returns its id. */
async function mintAndSend(): Promise<bigint> {
  const [a, b] = [chainAt(devnet.deployments, 0), chainAt(devnet.deployments, 1)];
  const cosmicA = collectionOn(devnet.deployments, "cosmic", a.chainId);
  const tokenId = tokenIdInRange(a.eid, serial++);
  await signerFor(a, deployer.privateKey).write({ address: cosmicA.address, abi: CosmicONFT721Abi, functionName: "mint", args: [alice.address, tokenId] });
  await sendToken({ signer: signerFor(a, alice.privateKey), deployment: cosmicA, tokenId, dstEid: b.eid, to: bob.address });
  return tokenId;
}

/** A JSON-RPC proxy in front of one chain that answers 503 while `broken`. */
async function flakyProxy(target: string) {
  const state = { broken: false, refused: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", async () => {
      if (state.broken) {
        state.refused++;
        res.writeHead(503, { "content-type": "text/plain" }).end("proxy: chain unavailable");
        return;
      }
      try {
        const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
        res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("LayerZero workers idle()", () => {
  it("called right after a send, it always waits for that packet's delivery", async () => {
    const b = chainAt(devnet.deployments, 1);
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20 });
    try {
      const early: bigint[] = [];
      for (let i = 0; i < 30; i++) {
        const tokenId = await mintAndSend();
        await workers.idle({ timeoutMs: 30_000 });
        if ((await ownerOf(b, cosmicB.token, tokenId)) !== bob.address) early.push(tokenId);
        await sleep(Math.random() * 20); // land anywhere in the polling interval
      }
      expect(early).toEqual([]);
      expect(workers.delivered).toBe(30);
    } finally {
      await workers.stop();
    }
  });

  it("does not resolve while a chain cannot be polled, says why, and resolves once polling works again", async () => {
    const [a, b] = [chainAt(devnet.deployments, 0), chainAt(devnet.deployments, 1)];
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const proxy = await flakyProxy(a.rpcUrl);
    const lines: string[] = [];
    // The workers reach chain A (the source) only through the proxy.
    const deployments = { ...devnet.deployments, chains: devnet.deployments.chains.map((c) => (c.chainId === a.chainId ? { ...c, rpcUrl: proxy.url } : c)) };
    const workers = await startLayerZeroWorkers({ deployments, pollingIntervalMs: 20, log: (line) => lines.push(line) });
    try {
      await workers.idle({ timeoutMs: 30_000 });
      proxy.state.broken = true;
      const tokenId = await mintAndSend(); // straight to anvil: on chain, but the workers cannot see it
      let resolved = false;
      const idle = workers.idle().then(() => (resolved = true));
      idle.catch(() => {}); // awaited below; a failed assertion before that stops the workers
      await waitFor(async () => proxy.state.refused >= 5, 20_000, "polls refused by the proxy");
      expect(resolved).toBe(false);
      await expect(workers.idle({ timeoutMs: 200 })).rejects.toThrow(/no successful poll of devnet-a \(last error: [^)]*HTTP 503/);
      expect(lines.some((line) => /polling devnet-a failed: .*HTTP 503/.test(line))).toBe(true);
      expect(lines.filter((line) => line.includes("polling devnet-a failed")).length).toBe(1); // logged once, not every cycle

      proxy.state.broken = false;
      await idle;
      expect(await ownerOf(b, cosmicB.token, tokenId)).toBe(bob.address);
      expect(lines.some((line) => /polling devnet-a works again after \d+ failed polls/.test(line))).toBe(true);
    } finally {
      await workers.stop();
      await proxy.close();
    }
  });

  it("a rewound source chain is rescanned: the packet of the dropped branch is never delivered, the new one is", async () => {
    const [a, b] = [chainAt(devnet.deployments, 0), chainAt(devnet.deployments, 1)];
    const cosmicB = collectionOn(devnet.deployments, "cosmic", b.chainId);
    const lines: string[] = [];
    const workers = await startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 20, delayMs: 1500, log: (line) => lines.push(line) });
    try {
      await workers.idle({ timeoutMs: 30_000 });
      const snapshot = await rpc<string>(a.rpcUrl, "evm_snapshot");
      const doomed = await mintAndSend();
      // Seen (polled past) but held by the DVN delay.
      await expect(workers.idle({ timeoutMs: 300 })).rejects.toThrow(/1 packets not delivered yet/);
      expect(await rpc<boolean>(a.rpcUrl, "evm_revert", [snapshot])).toBe(true);
      // Same path, same LayerZero nonce, same number of blocks: only the block hashes tell the branches apart.
      const kept = await mintAndSend();
      await workers.idle({ timeoutMs: 30_000 });
      expect(await ownerOf(b, cosmicB.token, kept)).toBe(bob.address);
      await sleep(1700); // past the doomed packet's delivery time
      expect(await ownerOf(b, cosmicB.token, doomed)).toBeNull();
      expect(lines.some((line) => line.includes("devnet-a was rewound"))).toBe(true);
    } finally {
      await workers.stop();
    }
  });
});
