/**
 * Runs tasks serially per key and concurrently across keys: a task starts
 * once every earlier task of its key has settled, in the order they were
 * pushed. Tasks must not reject (the subscriber catches inside them).
 */
export interface KeyedQueue {
  push(key: string, task: () => Promise<void>): Promise<void>;
  /** Resolves once every task pushed so far has settled. */
  idle(): Promise<void>;
  /** Keys with a task running or waiting. */
  readonly keys: number;
}

export function keyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<void>>();
  return {
    push(key, task) {
      const prev = tails.get(key);
      const run = prev === undefined ? task() : prev.then(task);
      tails.set(key, run);
      void run.then(() => {
        if (tails.get(key) === run) tails.delete(key);
      });
      return run;
    },
    async idle() {
      while (tails.size > 0) await Promise.all(tails.values());
    },
    get keys() {
      return tails.size;
    },
  };
}
