// Herald's own processes for the bench, started through the same helper the
// cross-process tests use (the real CLI as a child, on the run's namespace
// and database), plus the service versions printed with the results.
import type { NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import { startHerald, type HeraldProcess } from "../../test/support/herald-process.ts";
import type { Cleanup } from "./cleanup.ts";
import type { RssMonitor } from "./rss-monitor.ts";

/** Starts `herald <mode>`, watches its RSS, and registers its stop with the cleanup. */
export async function startWatched(mode: "gateway" | "processor", env: Record<string, string>, monitor: RssMonitor, cleanup: Cleanup): Promise<HeraldProcess> {
  // The gateway logs one info line per accepted request. The peers log no
  // requests (Fastify's logger is off), so the gateway runs at warn, as a
  // benchmark of the contract should. The processor stays at info, as it
  // would run: its readiness line is info, and it logs a line per sent
  // notification, which this harness drains once the processor is ready
  // instead of parsing and keeping (keepLogs: false).
  const proc = await startHerald(mode, mode === "gateway" ? { ...env, LOG_LEVEL: "warn" } : env, { keepLogs: false });
  cleanup.defer(`herald ${mode}`, () => stopHerald(proc));
  monitor.watch(mode, proc.proc.pid);
  return proc;
}

/** SIGTERM (Herald drains in-flight work), then SIGKILL if it has not exited within `graceMs`. */
export async function stopHerald(h: HeraldProcess, graceMs = 15_000): Promise<void> {
  if (h.proc.exitCode !== null || h.proc.signalCode !== null) return;
  const timer = setTimeout(() => h.proc.kill("SIGKILL"), graceMs);
  await h.signal("SIGTERM");
  clearTimeout(timer);
}

export async function serviceVersions(nc: NatsConnection, postgresUrl: string, redisUrl: string): Promise<{ nats: string; postgres: string; redis: string }> {
  const pg = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  const redis = new Bun.RedisClient(redisUrl);
  try {
    const [row] = await pg<{ server_version: string }[]>`show server_version`;
    const info = String(await redis.send("INFO", ["server"]));
    return {
      nats: nc.info?.version ?? "unknown",
      postgres: row?.server_version.split(" ")[0] ?? "unknown",
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
    };
  } finally {
    redis.close();
    await pg.end({ timeout: 5 });
  }
}
