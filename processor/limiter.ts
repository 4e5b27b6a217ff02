import { PRIORITIES, type Priority } from "../schemas/enums.ts";

/** Bounds concurrent work; waiters of a higher-priority lane go first. */
export interface Limiter {
  run<T>(priority: Priority, fn: () => Promise<T>): Promise<T>;
}

/**
 * One limiter per channel is shared by every lane, so `channelConcurrency`
 * bounds the load on a provider; ordering the waiters by lane keeps a queued
 * `low` backlog from standing in front of an `urgent` send.
 */
export function createLimiter(limit: number): Limiter {
  let active = 0;
  const queues = new Map<Priority, Array<() => void>>(PRIORITIES.map((p) => [p, []]));
  const release = () => {
    for (const p of PRIORITIES) {
      const next = queues.get(p)?.shift();
      if (next) return next();
    }
    active -= 1;
  };
  const acquire = (priority: Priority): Promise<void> => {
    if (active < limit) {
      active += 1;
      return Promise.resolve();
    }
    // The slot passes straight from the releaser to the waiter: `active` stays put.
    return new Promise((resolve) => queues.get(priority)?.push(resolve));
  };
  return {
    async run(priority, fn) {
      await acquire(priority);
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
