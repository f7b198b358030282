/**
 * A worker loop that runs one tick at a time and sleeps until woken (a committed checkpoint, a new
 * head) or until its interval passes (the fallback when nothing wakes it). A wake during a tick
 * runs one more tick right after it, so no wake is lost and bursts coalesce into one tick.
 * `wakeIn(ms)` is the deferred wake of background loops: every request within the delay, and any
 * made before a tick starts, is served by that one tick.
 */
/**
 * How long background followers of the index (metadata follower, bridge tracker) let a commit wait:
 * on PGlite every off-chain transaction takes the one database in turn, and the user-facing
 * notifier's tick (~25 ms) should not queue behind theirs; a burst of blocks (a bridge lands as
 * 4-5 blocks) then also costs them one tick.
 */
export const BACKGROUND_COMMIT_DELAY_MS = 50;

export type TickLoop = {
  /** Run a tick now (or right after the one in progress). */
  wake(): void;
  /** Run a tick `ms` from now, unless one starts before (a pending deferred wake is kept, not moved). */
  wakeIn(ms: number): void;
  /** Waits for the tick in progress, then stops. */
  stop(): Promise<void>;
};

export function startTickLoop(options: {
  tick: () => Promise<unknown>;
  /** The sleep after a tick when nothing wakes the loop (read after every tick: it may change). */
  intervalMs: () => number;
  onError: (error: unknown) => void;
}): TickLoop {
  let stopped = false;
  let woken = false;
  let sleeping: (() => void) | undefined;
  let deferred: NodeJS.Timeout | undefined;
  const wake = () => {
    woken = true;
    sleeping?.();
  };

  const done = (async () => {
    while (!stopped) {
      woken = false;
      // This tick sees everything a deferred wake was asked for.
      clearTimeout(deferred);
      deferred = undefined;
      await options.tick().catch(options.onError);
      if (stopped) break;
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs());
        sleeping = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      sleeping = undefined;
    }
  })();

  return {
    wake,
    wakeIn(ms) {
      if (stopped || deferred) return;
      deferred = setTimeout(() => {
        deferred = undefined;
        wake();
      }, ms);
    },
    async stop() {
      stopped = true;
      clearTimeout(deferred);
      sleeping?.();
      await done;
    },
  };
}
