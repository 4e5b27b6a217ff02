import type { NatsConnection } from "@nats-io/nats-core";
import { sql } from "drizzle-orm";
import type { Database } from "../schemas/database.ts";
import type { Topology } from "../schemas/subjects.ts";
import { missingTopology } from "./nats/streams.ts";
import type { ReadinessCheck } from "./readiness.ts";

/** What a gateway's `/health/startup` waits for: the tables and the streams `herald migrate` makes. */
export function migratedChecks(db: Database, nc: NatsConnection, topo: Topology): ReadinessCheck[] {
  return [
    { name: "migrations", check: async () => void (await db.execute(sql`select 1 from notifications limit 0`)) },
    {
      name: "streams",
      check: async () => {
        const missing = await missingTopology(nc, topo);
        if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}`);
      },
    },
  ];
}
