import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../../lib/probe.ts";

/** A nats-server child of a test's own: JetStream in a directory of its own, TCP and a plain WebSocket listener on loopback. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  /** Kills the server; its store stays, so `start` brings the same streams back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), "herald-nats-"));
  const port = freePort();
  const wsPort = freePort();
  const config = join(dir, "nats.conf");
  writeFileSync(
    config,
    [`listen: "127.0.0.1:${port}"`, `jetstream { store_dir: "${join(dir, "js")}" }`, `websocket { host: "127.0.0.1", port: ${wsPort}, no_tls: true }`].join(
      "\n",
    ),
  );
  let child: ReturnType<typeof Bun.spawn> | null = null;
  const handle: PrivateNats = {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    async start() {
      if (child) return;
      child = Bun.spawn(["nats-server", "-c", config], { stdout: "ignore", stderr: "ignore" });
      const up = (await waitForPort("127.0.0.1", port, 10_000)) && (await waitForPort("127.0.0.1", wsPort, 10_000));
      if (!up) throw new Error(`nats-server did not listen on ${port} and ${wsPort}`);
    },
    async stop() {
      const running = child;
      child = null;
      running?.kill("SIGKILL");
      await running?.exited;
    },
    async remove() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
