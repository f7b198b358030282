/**
 * Our Prometheus metrics, in a registry of their own (Ponder keeps its registry at /metrics; ours is
 * served at /api/metrics, see docs/operations.md). Module-level: one set per process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "cosmic_" });

export const httpDuration = new Histogram({
  name: "cosmic_http_request_duration_seconds",
  help: "REST request latency by route template",
  labelNames: ["method", "route", "status"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const wsConnections = new Gauge({ name: "cosmic_ws_connections", help: "Open WebSocket connections", registers: [registry] });
export const wsMessages = new Counter({
  name: "cosmic_ws_messages_sent_total",
  help: "Messages sent to WebSocket clients",
  labelNames: ["type"] as const,
  registers: [registry],
});
export const wsDropped = new Counter({
  name: "cosmic_ws_clients_dropped_total",
  help: "WebSocket clients closed by the server",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const cacheRequests = new Counter({
  name: "cosmic_cache_requests_total",
  help: "Cache lookups by result (hit, miss, bypass = Redis unavailable)",
  labelNames: ["cache", "result"] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: "cosmic_rate_limited_total",
  help: "Requests answered 429",
  labelNames: ["scope"] as const,
  registers: [registry],
});

// Business counters. Chain facts are counted by the notifier (once per activity row, whichever
// replica's tick handled it); off-chain facts by the route that commits them (api/events/routes.ts).
export const nftsMinted = new Counter({
  name: "cosmic_nfts_minted_total",
  help: "NFT mints seen on chain",
  labelNames: ["chain_id"] as const,
  registers: [registry],
});
export const bridgesInitiated = new Counter({ name: "cosmic_bridges_initiated_total", help: "Bridge sends seen on chain", registers: [registry] });
export const bridgesCompleted = new Counter({ name: "cosmic_bridges_completed_total", help: "Bridges delivered", registers: [registry] });
export const bridgesFailed = new Counter({ name: "cosmic_bridges_failed_total", help: "Bridge deliveries that reverted", registers: [registry] });
export const bridgeLatency = new Histogram({
  name: "cosmic_bridge_latency_seconds",
  help: "Source block to destination delivery block (block timestamps)",
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [registry],
});
let stuckBridgesSource: (() => Promise<Record<string, number>>) | undefined;
/**
 * Where `cosmic_bridges_stuck` reads its value on scrape. An API process with an index registers the
 * index query (so every replica reports it, not only the one running the notifier); without a source
 * the gauge keeps the value the notifier last set.
 */
export function setStuckBridgesSource(source: (() => Promise<Record<string, number>>) | undefined) {
  stuckBridgesSource = source;
}
export const bridgesStuck = new Gauge({
  name: "cosmic_bridges_stuck",
  help: "Bridges sent and not delivered after BRIDGE_STUCK_AFTER_SECONDS, by what they wait for (reason)",
  labelNames: ["reason"],
  registers: [registry],
  async collect() {
    if (!stuckBridgesSource) return;
    try {
      for (const [reason, n] of Object.entries(await stuckBridgesSource())) this.set({ reason }, n);
    } catch {
      // Index unreachable: keep the last value; the service-down alert covers it.
    }
  },
});
export const eventsCreated = new Counter({ name: "cosmic_events_created_total", help: "Events created", registers: [registry] });
export const registrations = new Counter({ name: "cosmic_event_registrations_total", help: "Event registrations", registers: [registry] });
export const attendance = new Counter({ name: "cosmic_event_attendance_total", help: "Tickets checked in", registers: [registry] });
export const jobsFailed = new Counter({
  name: "cosmic_jobs_failed_total",
  help: "Background jobs that failed",
  labelNames: ["queue"] as const,
  registers: [registry],
});

export const notifierLag = new Gauge({
  name: "cosmic_notifier_lag_seconds",
  help: "Age of the newest activity row pushed by the notifier (block timestamp)",
  registers: [registry],
});
export const notifierPushed = new Counter({
  name: "cosmic_notifier_pushed_total",
  help: "Chain events pushed",
  labelNames: ["type"] as const,
  registers: [registry],
});
export const chainLag = new Gauge({
  name: "cosmic_chain_lag_blocks",
  help: "Chain head minus indexed block (last health check)",
  labelNames: ["chain_id"] as const,
  registers: [registry],
});
