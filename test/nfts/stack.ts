/**
 * The NFT/bridge test stack: a devnet (2 chains), the devnet's LayerZero workers (failure switch and pause
 * under test control), our Ponder indexer as a child process on Postgres, and our REST app built
 * in-process with `buildApp` reading the Ponder schema through a read-only pool
 * (`connectIndexedDb`, the API-replica setup) — the approach used by test/nfts and test/bridge.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Address, type Hex, createWalletClient, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildApp } from "../../api/app.js";
import { connectIndexedDb } from "../../read/db.js";
import { type BridgeSettings, bridgeSettings } from "../../infra/config/bridge.js";
import { type NftSettings, nftSettings } from "../../infra/config/nfts.js";
import { createServerSigners } from "../../chain/serverSigners.js";
import { localChain } from "../../chain/signer.js";
import { type LayerZeroWorkers, type LayerZeroWorkersOptions, startLayerZeroWorkers } from "../../devnet/layerzero/workers.js";
import type { LayerZeroSettings } from "../../devnet/options.js";
import { AuthService } from "../../domain/auth/service.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { type RealtimeService, startRealtime } from "../../realtime/service.js";
import type { Devnet } from "../../devnet/start.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { createTestApp, json, siweMessage, type TestApp } from "../api/helpers.js";
import { deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";
import { POSTGRES_URL, type PonderInstance, cleanupPonder, startPonder, waitForHead, withRpcUrls } from "../helpers/ponder.js";

export type Stack = Awaited<ReturnType<typeof startStack>>;

export type StackOptions = {
  nft?: Partial<NftSettings>;
  bridge?: Partial<BridgeSettings>;
  /** Pathway settings of the devnet's LayerZero stack (DVNs, confirmations...). */
  layerZero?: Partial<LayerZeroSettings>;
  /** More options of the LayerZero workers (offline workers, delays). */
  workers?: Partial<Omit<LayerZeroWorkersOptions, "deployments">>;
  /** Also run the realtime service in-process: notifier, bridge tracker (REALTIME_* overrides). */
  realtime?: Record<string, string>;
  /** The RPC URL the app (api) or the bridge tracker (tracker) uses for a chain: e.g. a proxy in front of it. */
  rpcFor?: { api?: (rpcUrl: string) => Promise<string>; tracker?: (rpcUrl: string) => Promise<string> };
  /** The off-chain store (default Postgres; PGlite as under `npm run dev`). */
  store?: "postgres" | "pglite";
};

export async function startStack(options: StackOptions = {}) {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const devnet: Devnet = await startTestDevnet({ chains: 2, baseChainId: 100_000 + Math.floor(Math.random() * 800_000), layerZero: options.layerZero });
    cleanups.push(() => devnet.stop());
    const control = { fail: false };
    const startWorkers = () =>
      startLayerZeroWorkers({ deployments: devnet.deployments, pollingIntervalMs: 50, shouldFail: () => control.fail, ...options.workers });
    let workers: LayerZeroWorkers | undefined = await startWorkers();
    cleanups.push(async () => workers?.stop());
    const ponder: PonderInstance = await startPonder({ deployments: devnet.deployments, db: "postgres" });
    cleanups.push(() => cleanupPonder(ponder));
    const indexed = connectIndexedDb({ databaseUrl: POSTGRES_URL, schema: ponder.schema, max: 4 });
    cleanups.push(() => indexed.close());
    const adminKey = generatePrivateKey();
    const admin = privateKeyToAccount(adminKey);
    const chains = devnet.deployments.chains.map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl }));
    const t: TestApp = await createTestApp({ kv: "redis", chains, env: { ADMIN_ADDRESSES: admin.address }, store: options.store });
    cleanups.push(() => t.close());
    const mediaDir = mkdtempSync(path.join(os.tmpdir(), "cosmic-nft-media-"));
    cleanups.push(async () => rmSync(mediaDir, { recursive: true, force: true }));
    const urlsFor = async (wrap?: (rpcUrl: string) => Promise<string>) =>
      wrap
        ? withRpcUrls(devnet.deployments, new Map(await Promise.all(devnet.deployments.chains.map(async (c) => [c.chainId, await wrap(c.rpcUrl)] as const))))
        : devnet.deployments;
    const network = setupFromDeployments(await urlsFor(options.rpcFor?.api), 100);
    const signers = createServerSigners({ chains, privateKey: deployer.privateKey as Hex, pollingInterval: 20 });
    const deps = {
      ...t.deps,
      network,
      indexed,
      signers,
      nft: nftSettings({ mediaDir, refreshCooldownSeconds: 2, fetchTimeoutMs: 2000, ...options.nft }),
      bridge: bridgeSettings(options.bridge),
    };
    const app = buildApp(deps);
    let realtime: RealtimeService | undefined;
    if (options.realtime) {
      const ops = loadOpsConfig({ REALTIME_PORT: "0", REALTIME_POLL_MS: "50", REALTIME_BRIDGE_TRACKER_POLL_MS: "100", ...options.realtime });
      realtime = await startRealtime({
        ...deps,
        auth: new AuthService(deps),
        indexed,
        ops,
        network: setupFromDeployments(await urlsFor(options.rpcFor?.tracker), 100),
      });
      const r = realtime;
      cleanups.push(() => r.close());
    }
    const req = (p: string, init?: RequestInit) => app.request(p, init);

    const login = async (privateKey: Hex) => {
      const account = privateKeyToAccount(privateKey);
      const { nonce } = (await (await req(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
      const message = siweMessage({ address: account.address, nonce, chainId: chains[0]!.chainId });
      const res = await req("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    /** The wallet side: signs and sends a prepared transaction like a browser wallet would; throws unless it succeeded. */
    const signAndSend = async (privateKey: Hex, tx: { to: string; data: string; value: string; chainId: number }): Promise<Hex> => {
      const c = devnet.deployments.chains.find((x) => x.chainId === tx.chainId)!;
      const wallet = createWalletClient({ account: privateKeyToAccount(privateKey), chain: localChain(c.chainId, c.rpcUrl), transport: http(c.rpcUrl) });
      const hash = await wallet.sendTransaction({ to: tx.to as Address, data: tx.data as Hex, value: BigInt(tx.value) });
      const receipt = await signerFor(c, deployer.privateKey).publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
      return hash;
    };

    return {
      devnet,
      deployments: devnet.deployments,
      ponder,
      indexed,
      app,
      deps,
      req,
      admin,
      login,
      bearer,
      signAndSend,
      workerControl: control,
      /** Stops the LayerZero workers (bridges stay in flight) until `resumeWorkers`. */
      async pauseWorkers() {
        await workers?.stop();
        workers = undefined;
      },
      async resumeWorkers() {
        workers ??= await startWorkers();
      },
      /** The running worker set (its switches: dvn(i), committer, executor). */
      get workers() {
        if (!workers) throw new Error("the workers are paused");
        return workers;
      },
      /** The in-process realtime service (options.realtime), with its notifier and bridge tracker. */
      get realtime() {
        if (!realtime) throw new Error("startStack without options.realtime");
        return realtime;
      },
      async relayed() {
        await workers?.idle();
      },
      synced: () => waitForHead(ponder, devnet.deployments),
      adminLogin: () => login(adminKey),
      /** An API key with `roles`, created by the admin through POST /auth/api-keys. */
      async apiKey(name: string, roles: string[]): Promise<string> {
        const res = await req("/auth/api-keys", json({ name, roles }, bearer(await login(adminKey))));
        if (res.status !== 201) throw new Error(`api key: ${res.status} ${await res.text()}`);
        return ((await res.json()) as { key: string }).key;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
