import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import postgres from "postgres";
import type { HeraldConfig } from "../schemas/config.ts";
import { connectPostgres, openPglite, type DatabaseHandle } from "../lib/db/connect.ts";
import { answers, freePort, waitForPort } from "../lib/probe.ts";
import { connectNats } from "../lib/nats/connect.ts";

const LOOPBACK = "127.0.0.1";

/** Something started for this process that must be stopped with it. */
export type Closer = () => Promise<void>;

export interface Resolved<T> {
  value: T;
  description: string;
  close: Closer;
}

/**
 * NATS: `NATS_URL` if set; else the standard loopback port if it answers; else,
 * when allowed (`npm start`), a `nats-server` child process with JetStream
 * under the data dir, when the binary is on PATH.
 */
export async function resolveNats(cfg: HeraldConfig, log: Logger, allowChild: boolean): Promise<Resolved<NatsConnection>> {
  let url = cfg.NATS_URL;
  let child: ReturnType<typeof Bun.spawn> | null = null;
  if (!url) {
    if (await answers(LOOPBACK, 4222)) url = `nats://${LOOPBACK}:4222`;
    else if (allowChild && Bun.which("nats-server")) {
      const port = freePort();
      const dir = join(cfg.HERALD_DATA_DIR, "nats");
      mkdirSync(dir, { recursive: true });
      child = Bun.spawn(["nats-server", "-a", LOOPBACK, "-p", String(port), "-js", "-sd", dir], { stdout: "ignore", stderr: "ignore" });
      if (!(await waitForPort(LOOPBACK, port, 10_000))) throw new Error("the nats-server child did not start");
      url = `nats://${LOOPBACK}:${port}`;
      log.info({ url }, "started an embedded nats-server child process");
    } else {
      throw new Error("no NATS: set NATS_URL, run nats-server on 127.0.0.1:4222, or put nats-server on PATH");
    }
  }
  const nc = await connectNats(url, connect);
  return {
    value: nc,
    description: child ? `${url} (embedded child)` : redactUrl(url),
    async close() {
      await nc.drain().catch(() => nc.close());
      if (child) {
        child.kill("SIGTERM");
        await child.exited;
      }
    },
  };
}

/**
 * Postgres: `DATABASE_URL` if set; else database `herald` on the standard
 * loopback port (created if missing); else, when allowed, PGlite under the data dir.
 */
export async function resolveDatabase(cfg: HeraldConfig, log: Logger, allowEmbedded: boolean): Promise<Resolved<DatabaseHandle>> {
  if (cfg.DATABASE_URL) return wrap(connectPostgres(cfg.DATABASE_URL), redactUrl(cfg.DATABASE_URL));
  if (await answers(LOOPBACK, 5432)) {
    const url = `postgres://postgres@${LOOPBACK}:5432/herald`;
    await createDatabaseIfMissing(`postgres://postgres@${LOOPBACK}:5432/postgres`, "herald");
    return wrap(connectPostgres(url), url);
  }
  if (!allowEmbedded) throw new Error("no Postgres: set DATABASE_URL or run Postgres on 127.0.0.1:5432");
  const dir = join(cfg.HERALD_DATA_DIR, "pglite");
  mkdirSync(dir, { recursive: true });
  log.warn({ dir }, "no Postgres answered: using embedded PGlite (single process only)");
  return wrap(await openPglite(dir), `PGlite at ${dir}`);
}

function wrap(handle: DatabaseHandle, description: string): Resolved<DatabaseHandle> {
  return { value: handle, description, close: () => handle.close() };
}

async function createDatabaseIfMissing(adminUrl: string, name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await admin.unsafe(`create database "${name}"`).catch(() => undefined);
  } finally {
    await admin.end();
  }
}

/** Redis: `REDIS_URL` if set; else the standard loopback port if it answers; else none (in-memory store). */
export async function resolveRedisUrl(cfg: HeraldConfig): Promise<string | undefined> {
  if (cfg.REDIS_URL || cfg.UPSTASH_REDIS_REST_URL) return cfg.REDIS_URL;
  return (await answers(LOOPBACK, 6379)) ? `redis://${LOOPBACK}:6379` : undefined;
}

/** Hides the password of every URL in `url`, which may list several (a NATS cluster's NATS_URL). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/g, "//$1:***@");
}
