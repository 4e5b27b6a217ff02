import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import postgres from "postgres";
import { connectPostgres, type DatabaseHandle } from "../../lib/db/connect.ts";
import { topology, type Topology } from "../../schemas/subjects.ts";

/** Where the real services of this machine answer; overridable for CI boxes that differ. */
export const SERVICES = {
  postgresAdmin: process.env.HERALD_TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  nats: process.env.HERALD_TEST_NATS_URL ?? "nats://127.0.0.1:4222",
  redis: process.env.HERALD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
};

function suffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** A namespace of its own for one test file, so runs never see each other's streams or keys. */
export function testNamespace(): string {
  return `t${suffix()}`;
}

export interface TestDatabase extends DatabaseHandle {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates a fresh migrated database of its own on the real Postgres (or the cluster `adminUrl` points at). */
export async function createTestDatabase(adminUrl: string = SERVICES.postgresAdmin): Promise<TestDatabase> {
  const name = `herald_t_${suffix()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  const handle = connectPostgres(url, { max: 5 });
  await handle.migrate();
  return {
    ...handle,
    url,
    name,
    async drop() {
      await handle.close();
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

/** Deletes every stream of a namespace; call in afterAll. */
export async function deleteNamespaceStreams(nc: NatsConnection, topo: Topology): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of Object.values(topo.streams)) {
    await jsm.streams.delete(name).catch(() => false);
  }
}

/** Deletes every Redis key under a prefix. */
export async function deleteRedisPrefix(prefix: string, url: string = SERVICES.redis): Promise<void> {
  const { RedisClient } = await import("bun");
  const redis = new RedisClient(url);
  let cursor = "0";
  do {
    const [next, keys] = (await redis.send("SCAN", [cursor, "MATCH", `${prefix}*`, "COUNT", "1000"])) as [string, string[]];
    cursor = next;
    if (keys.length > 0) await redis.send("DEL", keys);
  } while (cursor !== "0");
  redis.close();
}

export async function connectTestNats(url: string = SERVICES.nats): Promise<NatsConnection> {
  return connect({ servers: url });
}

export { topology };
