/**
 * Stuck bridges for operators: a send with no delivery (nor failure) after BRIDGE_STUCK_AFTER_SECONDS.
 * The gauge is computed on scrape; register it in the metrics registry with
 * `createStuckBridgesGauge({ indexed, stuckAfterSeconds, registers: [registry] })`.
 */
import { Gauge, type Registry } from "prom-client";
import type { IndexedDb } from "../indexed/db.js";
import { countStuckSends } from "../indexed/bridges.js";

export async function countStuckBridges(indexed: IndexedDb, stuckAfterSeconds: number, nowMs = Date.now()): Promise<number> {
  return await countStuckSends(indexed.db, nowMs, stuckAfterSeconds);
}

export function createStuckBridgesGauge(options: { indexed: IndexedDb; stuckAfterSeconds: number; registers?: Registry[] }) {
  return new Gauge({
    name: "cosmic_bridges_stuck",
    help: `Bridges sent but neither delivered nor failed after ${options.stuckAfterSeconds} s`,
    registers: options.registers ?? [],
    async collect() {
      try {
        this.set(await countStuckBridges(options.indexed, options.stuckAfterSeconds));
      } catch {
        // Index unreachable: leave the last value; the service-down alert covers it.
      }
    },
  });
}
