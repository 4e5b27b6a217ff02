import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../../lib/probe.ts";

/** A redis-server child of a test's own on a loopback port, nothing persisted, that the test may kill, pause and start again. */
export interface PrivateRedis {
  url: string;
  start(): Promise<void>;
  /** SIGKILL, so clients see the connection drop as in a crash. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs with its connections open. */
  pause(): void;
  resume(): void;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "herald-redis-"));
  let child: ReturnType<typeof Bun.spawn> | null = null;
  const handle: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
        stdout: "ignore",
        stderr: "ignore",
      });
      if (!(await waitForPort("127.0.0.1", port, 5_000))) throw new Error(`redis-server did not listen on ${port}`);
    },
    async stop() {
      const running = child;
      child = null;
      running?.kill("SIGCONT");
      running?.kill("SIGKILL");
      await running?.exited;
    },
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    async remove() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
