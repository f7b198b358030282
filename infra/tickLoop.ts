/**
 * A worker loop that runs one tick at a time and sleeps until woken (a committed checkpoint, a new
 * head) or until its interval passes (the fallback when nothing wakes it). A wake during a tick
 * runs one more tick right after it, so no wake is lost and bursts coalesce into one tick.
 */
export type TickLoop = {
  /** Run a tick now (or right after the one in progress). */
  wake(): void;
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

  const done = (async () => {
    while (!stopped) {
      woken = false;
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
    wake() {
      woken = true;
      sleeping?.();
    },
    async stop() {
      stopped = true;
      sleeping?.();
      await done;
    },
  };
}
