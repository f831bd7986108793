// Timing helpers for the views.

/** Calls `f` once `ms` have passed without another call; `cancel` drops a pending one. */
export function debounce<A extends unknown[]>(f: (...args: A) => void, ms: number): ((...args: A) => void) & { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = (...args: A): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      f(...args);
    }, ms);
  };
  run.cancel = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return run;
}

/**
 * Runs `task` at most once at a time: calls while it runs are folded into one more run
 * after it. Events that say "something changed, fetch again" can arrive in bursts; this
 * fetches once per burst and never shows an older answer after a newer one.
 */
export function coalesce(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

/** Counts answers so that only the latest request's answer is used (search as you type). */
export function latestOnly(): { next(): number; isLatest(n: number): boolean } {
  let n = 0;
  return {
    next: () => ++n,
    isLatest: (m) => m === n,
  };
}
