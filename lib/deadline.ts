/**
 * `work`, or the error `late()` makes once `ms` have passed, whichever comes
 * first. The timer is cleared either way and never holds the process open;
 * `work` itself goes on (nothing here can cancel it), its outcome then ignored.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
