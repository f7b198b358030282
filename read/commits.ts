/**
 * "The index committed": Ponder NOTIFYs `<schema>_live_query` on every live commit of its
 * checkpoint table (each indexed block, each reorg), on Postgres and on PGlite. Readers that act on
 * new index state (the notifier, the bridge tracker) LISTEN to it instead of polling; `live` tells
 * them whether to keep a fast fallback poll (the listen connection is down or not set up yet).
 */
import pg from "pg";
import type { Logger } from "../infra/logger.js";

export type IndexCommits = {
  /** True while notifications arrive (LISTEN is in place). */
  readonly live: boolean;
  /** Called on every commit; returns the unsubscribe. Starts listening on the first subscriber. */
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
};

/** The channel Ponder notifies for a schema (ponder/src/drizzle/onchain.ts: getLiveQueryChannelName). */
export const commitChannel = (schema: string) => `${schema}_live_query`;

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

function listeners() {
  const set = new Set<() => void>();
  return {
    set,
    notify() {
      for (const fn of set) fn();
    },
  };
}

/** A dedicated Postgres connection LISTENing on the schema's channel, reconnecting with backoff. */
export function listenForCommits(options: { databaseUrl: string; schema: string; logger?: Logger }): IndexCommits {
  const subscribers = listeners();
  let live = false;
  let closed = false;
  let started = false;
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoff = 250;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: options.databaseUrl, application_name: "cosmic-index-commits", connectionTimeoutMillis: 5_000 });
    client = c;
    const retry = () => {
      if (client !== c) return;
      client = undefined;
      if (live) options.logger?.warn({ schema: options.schema }, "index commits: listen connection lost; polling until it is back");
      live = false;
      c.end().catch(() => {});
      if (closed) return;
      retryTimer = setTimeout(() => void connect(), backoff);
      retryTimer.unref?.();
      backoff = Math.min(backoff * 2, 10_000);
    };
    c.on("error", retry);
    c.on("end", retry);
    c.on("notification", (message) => {
      if (message.channel === commitChannel(options.schema)) subscribers.notify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${quoted(commitChannel(options.schema))}`);
      if (client !== c) return;
      live = true;
      backoff = 250;
      // Something may have committed while we were not listening.
      subscribers.notify();
    } catch {
      retry();
    }
  };

  return {
    get live() {
      return live;
    },
    subscribe(listener) {
      subscribers.set.add(listener);
      if (!started) {
        started = true;
        void connect();
      }
      return () => subscribers.set.delete(listener);
    },
    async close() {
      closed = true;
      live = false;
      clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}

/** The minimal part of a PGlite instance used here. */
export type PgliteNotifications = {
  exec(sql: string): Promise<unknown>;
  onNotification(callback: (channel: string, payload: string) => void): () => void;
};

/** Commits of an embedded PGlite index (inside Ponder's process: the only one that can open it). */
export function pgliteCommits(instance: PgliteNotifications, schema: string): IndexCommits {
  const subscribers = listeners();
  let live = false;
  let unsubscribe: (() => void) | undefined;
  return {
    get live() {
      return live;
    },
    subscribe(listener) {
      subscribers.set.add(listener);
      if (!unsubscribe) {
        unsubscribe = instance.onNotification((channel) => {
          if (channel === commitChannel(schema)) subscribers.notify();
        });
        // Quoted like Ponder's own LISTEN (PGlite's listen() would fold the name to lower case).
        instance.exec(`LISTEN ${quoted(commitChannel(schema))}`).then(
          () => {
            live = true;
            subscribers.notify();
          },
          () => {},
        );
      }
      return () => subscribers.set.delete(listener);
    },
    async close() {
      live = false;
      unsubscribe?.();
    },
  };
}
