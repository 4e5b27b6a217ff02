type Immediate = (run: () => void) => unknown;
const nextTurn: Immediate = (globalThis as { setImmediate?: Immediate }).setImmediate ?? ((run) => setTimeout(run, 0));

/**
 * Acks, naks and terms gathered and sent once per turn of the event loop.
 * The NATS client writes what one microtask queued in one socket write, and
 * handlers finish in microtasks of their own: sent as they come, every ack
 * is a write of its own.
 */
export interface Settler {
  later(op: () => void): void;
  /** Sends what is gathered now. */
  flush(): void;
}

export function settler(): Settler {
  let ops: Array<() => void> = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const now = ops;
    ops = [];
    for (const op of now) op();
  };
  return {
    later(op) {
      ops.push(op);
      if (!scheduled) {
        scheduled = true;
        nextTurn(flush);
      }
    },
    flush,
  };
}
