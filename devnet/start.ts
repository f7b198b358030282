/** Programmatic devnet: N anvil chains with LayerZero V2 and our collections deployed and wired. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { devnetAccounts, DEPLOYER_INDEX } from "./accounts.js";
import { type AnvilProcess, anvilRpc, startAnvil } from "./anvil.js";
import { deployDevnet } from "./deploy.js";
import { type HeadRelay, startHeadRelay } from "./headRelay.js";
import { type Deployments, deploymentsSchema } from "../chain/deployments.js";
import { DEFAULT_DEPLOYMENTS_FILE, type DevnetOptions, validateDevnetOptions, validateLayerZeroSettings } from "./options.js";

export { DEVNET_DEFAULTS, type DevnetOptions, validateDevnetOptions } from "./options.js";

export type Devnet = {
  deployments: Deployments;
  anvils: AnvilProcess[];
  stop(): Promise<void>;
};

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const { chains, basePort, baseChainId, baseEid } = validateDevnetOptions(options);
  const log = options.log ?? (() => {});
  const anvils: AnvilProcess[] = [];
  const relays: HeadRelay[] = [];
  const relayUrls: string[] = [];
  const stop = async () => {
    await Promise.all(relays.map((relay) => relay.close()));
    await Promise.all(anvils.map((anvil) => anvil.stop()));
  };
  const wholeSeconds = options.blockTime !== undefined && Number.isInteger(options.blockTime);
  try {
    log(`starting ${chains} anvil chains`);
    const specs = Array.from({ length: chains }, (_, i) => ({
      name: options.chainSpecs?.[i]?.name ?? `devnet-${String.fromCharCode(97 + i)}`,
      chainId: options.chainSpecs?.[i]?.chainId ?? baseChainId + i,
      eid: options.chainSpecs?.[i]?.eid ?? baseEid + i,
      port: basePort + i,
    }));
    // Start in parallel, but wait for every start to settle before failing, so `stop` reaches each
    // anvil that did start (a plain Promise.all would reject while others are still coming up).
    const started = await Promise.allSettled(
      specs.map(async (spec, i) => {
        const anvil = await startAnvil({
          port: spec.port,
          chainId: spec.chainId,
          // Whole-second block times are switched on after deployment (evm_setIntervalMining), so the
          // ~20 sequential deployment transactions per chain do not each wait for a block. anvil's RPC
          // only takes whole seconds: a fractional block time is set at start (slower deployment).
          blockTime: wholeSeconds ? undefined : options.blockTime,
          forkUrl: i === 0 ? options.forkUrl : undefined,
          extraArgs: options.anvilArgs?.(i),
        });
        anvils.push(anvil);
        // anvil serves WebSockets on its HTTP port; the devnet's wsUrl is the relay in front of it.
        const relay = await startHeadRelay({ rpcUrl: anvil.rpcUrl, nodeWsUrl: anvil.rpcUrl.replace(/^http/, "ws") });
        relays.push(relay);
        relayUrls[i] = relay.url;
        options.onAnvil?.(anvil);
      }),
    );
    const failure = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failure) throw failure.reason;
    log("deploying LayerZero (EndpointV2, SendUln302/ReceiveUln302, DVNs, executor) and collections");
    const accounts = devnetAccounts();
    const deployments = deploymentsSchema.parse(
      await deployDevnet({
        chains: specs.map((spec) => ({
          name: spec.name,
          chainId: spec.chainId,
          eid: spec.eid,
          rpcUrl: `http://127.0.0.1:${spec.port}`,
          wsUrl: relayUrls[spec.port - basePort],
        })),
        accounts,
        deployer: accounts[DEPLOYER_INDEX]!,
        layerZero: validateLayerZeroSettings(options.layerZero, chains),
        endpointAddress: options.endpointAddress,
        log,
      }),
    );
    if (wholeSeconds) {
      log(`switching to interval mining: a block every ${options.blockTime} s`);
      await Promise.all(anvils.map((anvil) => anvilRpc(anvil.rpcUrl, "evm_setIntervalMining", [options.blockTime])));
    }
    if (options.deploymentsFile !== null) {
      const file = path.resolve(options.deploymentsFile ?? DEFAULT_DEPLOYMENTS_FILE);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(deployments, null, 2)}\n`);
      log(`deployments written to ${path.relative(process.cwd(), file)}`);
    }
    return { deployments, anvils, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
