/** A counting semaphore: at most `capacity` holders; `open()` lets every waiter through at once (for closing). */
export interface Slots {
  /** Resolves once a slot is held, or at once after `open()`. */
  acquire(): Promise<void>;
  release(): void;
  open(): void;
  readonly held: number;
}

export function slots(capacity: number): Slots {
  let held = 0;
  let opened = false;
  const waiters: Array<() => void> = [];
  return {
    acquire() {
      if (opened || held < capacity) {
        held += 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        waiters.push(() => {
          held += 1;
          resolve();
        });
      });
    },
    release() {
      held -= 1;
      if (held < capacity || opened) waiters.shift()?.();
    },
    open() {
      opened = true;
      for (const wake of waiters.splice(0)) wake();
    },
    get held() {
      return held;
    },
  };
}
