export interface EventuallyOptions {
  /** Give up after this long; 15 s unless told. */
  timeoutMs?: number;
  /** Poll this often; 25 ms unless told. */
  everyMs?: number;
  /** What is awaited, for the timeout's message. */
  label?: string;
}

/** Polls `check` until it returns something truthy and returns that; throws once `timeoutMs` has passed. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, opts: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 15_000, everyMs = 25, label } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(label ? `waited ${timeoutMs} ms for ${label}` : `condition not met within ${timeoutMs} ms`);
    await Bun.sleep(everyMs);
  }
}
