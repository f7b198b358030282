/** The realtime service: WebSocket server + (optionally) the notifier, sharing one set of dependencies. */
import type { TrustProxy } from "../infra/clientIp.js";
import type { IndexedDb } from "../read/db.js";
import { BRIDGE_DEFAULTS, type BridgeSettings } from "../infra/config/bridge.js";
import type { Logger } from "../infra/logger.js";
import type { OpsConfig } from "../infra/config/ops.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { OffchainStore } from "../offchain/store.js";
import { BridgeTracker } from "../domain/bridge/tracker.js";
import type { IndexerSetup } from "../indexer/setup.js";
import { Notifier } from "./notifier.js";
import { REALTIME_WAKE_CHANNEL } from "./protocol.js";
import { pushLogOf } from "./pushLog.js";
import { type RealtimeAuth, type RealtimeServer, startRealtimeServer } from "./server.js";

export type RealtimeService = { server: RealtimeServer; notifier: Notifier | undefined; tracker: BridgeTracker | undefined; close(): Promise<void> };

export async function startRealtime(deps: {
  kv: KeyValueStore;
  store: OffchainStore;
  logger: Logger;
  auth: RealtimeAuth;
  indexed: IndexedDb | undefined;
  ops: OpsConfig;
  /** The chains (RPC URLs, endpoints): the bridge tracker reads bridges in flight from them. */
  network?: IndexerSetup;
  /** BRIDGE_STUCK_AFTER_SECONDS, read once with the other bridge settings (infra/config/bridge.ts). */
  bridge?: Pick<BridgeSettings, "stuckAfterSeconds">;
  trustProxy?: TrustProxy;
  /** Webhook settings (attempts stored with each delivery the notifier creates). */
  config?: { webhooks?: { maxAttempts: number } };
}): Promise<RealtimeService> {
  const r = deps.ops.realtime;
  // The resume log's retention for every push this process publishes (notifier).
  pushLogOf(deps.kv, { retentionSeconds: r.resumeRetentionSeconds, maxPushes: r.resumeMaxPushes });
  const server = await startRealtimeServer({
    kv: deps.kv,
    auth: deps.auth,
    logger: deps.logger,
    port: r.port,
    host: r.host,
    path: r.path,
    maxBufferBytes: r.maxBufferBytes,
    heartbeatMs: r.heartbeatMs,
    maxRoomsPerClient: r.maxRoomsPerClient,
    allowAnonymous: r.allowAnonymous,
    handshakeLimit: { points: deps.ops.rateLimit.perIp, windowSeconds: deps.ops.rateLimit.windowSeconds, trustProxy: deps.trustProxy ?? false },
  });
  let notifier: Notifier | undefined;
  if (r.notifier && deps.indexed) {
    notifier = new Notifier({
      indexed: deps.indexed,
      store: deps.store,
      kv: deps.kv,
      logger: deps.logger,
      intervalMs: r.pollMs,
      idleTickMs: r.idleTickMs,
      finalityBlocks: r.finalityBlocks,
      maxEventAgeSeconds: r.maxEventAgeSeconds,
      stuckAfterSeconds: (deps.bridge ?? BRIDGE_DEFAULTS).stuckAfterSeconds,
      bridgeHoldMs: r.bridgeHoldMs,
      ...(deps.config?.webhooks ? { webhookMaxAttempts: deps.config.webhooks.maxAttempts } : {}),
    }).start();
  } else if (r.notifier) {
    deps.logger.warn("realtime: no indexed database (DATABASE_URL + INDEXED_SCHEMA): chain pushes are off in this process");
  }
  const tracker =
    r.bridgeTracker && deps.indexed && deps.network
      ? new BridgeTracker({
          indexed: deps.indexed,
          store: deps.store,
          network: deps.network,
          logger: deps.logger,
          intervalMs: r.bridgeTrackerPollMs,
          idleTickMs: r.idleTickMs,
          // New progress is announced at once: this process's notifier directly, the others' (one of
          // them may hold the notifier's lock) through the wake channel.
          onProgress: () => {
            notifier?.wake();
            deps.kv.publish(REALTIME_WAKE_CHANNEL, "progress").catch((error) => deps.logger.warn({ err: error }, "realtime: wake publish failed"));
          },
        }).start()
      : undefined;
  return {
    server,
    notifier,
    tracker,
    async close() {
      await tracker?.stop();
      await notifier?.stop();
      await server.close();
    },
  };
}
