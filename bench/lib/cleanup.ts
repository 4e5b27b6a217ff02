// Everything a run creates (processes, streams, a database, Redis keys) is
// registered here as it is created and undone in reverse order: on success,
// on failure, and on Ctrl-C / SIGTERM, so an interrupted run leaves nothing behind.

export interface Cleanup {
  /** Registers an undo step; steps run last-registered first. */
  defer(what: string, undo: () => Promise<void> | void): void;
  /** Runs every step once, logging (not throwing) failures so later steps still run. */
  run(): Promise<void>;
}

export function createCleanup(): Cleanup {
  const steps: Array<{ what: string; undo: () => Promise<void> | void }> = [];
  let running: Promise<void> | null = null;

  async function runAll(): Promise<void> {
    while (steps.length > 0) {
      const step = steps.pop();
      if (!step) break;
      try {
        await step.undo();
      } catch (err) {
        console.error(`cleanup: ${step.what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  return {
    defer(what, undo) {
      steps.push({ what, undo });
    },
    run() {
      running ??= runAll();
      return running;
    },
  };
}

/**
 * On SIGINT / SIGTERM, runs the cleanup and exits 130 / 143. A second signal
 * while cleaning up exits at once (the user insisted).
 */
export function cleanupOnSignals(cleanup: Cleanup): void {
  let interrupted = false;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(code);
      interrupted = true;
      console.error(`\n${signal}: cleaning up (streams, database, Redis keys, processes)…`);
      cleanup.run().then(
        () => process.exit(code),
        () => process.exit(code),
      );
    });
  }
}
