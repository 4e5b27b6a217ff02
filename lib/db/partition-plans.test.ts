// With a year of month partitions, the processor's writes must read one partition's index, and a lookup by id alone each
// partition's primary key, never a whole partition. The plans are the generic ones a prepared statement settles on, with
// scanning, hashing or materializing whole partitions ruled out: at this test's size they are cheapest, at millions of
// rows a month the batch's probes win, and what is checked is that those probes are pruned to the row's month as they run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, asc, eq, inArray } from "drizzle-orm";
import postgres from "postgres";
import type { Sql } from "../../schemas/database.ts";
import { CANCELLABLE_STATUSES } from "../../schemas/enums.ts";
import { deliveryAttempts, notifications } from "../../schemas/tables.ts";
import { envelope } from "../../test/support/processor-harness.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { beginAttempts, claim, markSuppressed, writeOutcomes, type RowState } from "./notification-repository.ts";
import { ensurePartitions, listPartitions, monthAfter } from "./partitions.ts";
import { runRetention } from "./retention.ts";
import { viewColumns } from "./reads.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

let db: TestDatabase;
let client: postgres.Sql;
let months = 0;
const rows = new Map<string, RowState>();
const now = new Date();

beforeAll(async () => {
  db = await createTestDatabase();
  client = postgres(db.url, { max: 1, onnotice: () => {} });
  // Twelve months back to the next one: fourteen month partitions and the default.
  await ensurePartitions(db.sql, monthAfter(now, -12).from, 13);
  months = (await listPartitions(db.sql)).length;
  for (let m = -12; m <= 0; m++) {
    const at = new Date(monthAfter(now, m).from.getTime() + 3_600_000);
    const batch = Array.from({ length: 20 }, () => envelope({ acceptedAt: at.toISOString() }));
    const claimed = await claim(db.sql, batch, Date.now());
    for (const [id, row] of claimed.rows) rows.set(id, row);
  }
  // Enough rows a month that reading a whole month costs more than the batch's probes, as it does in production.
  await client`
    insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at)
    select gen_random_uuid(), 'acme', 'u', 'in_app', 'transactional', 'normal', 'sent', '{}'::jsonb, now() - (g % 390) * interval '1 day'
    from generate_series(1, 60000) g`;
  await client`analyze notifications`;
  await client`analyze delivery_attempts`;
});

afterAll(async () => {
  await client.end();
  await db.drop();
});

/** EXPLAIN ANALYZE of a statement as a prepared statement's generic plan runs it, rolled back. */
async function planOf(text: string, params: unknown[]): Promise<PlanNode[]> {
  // Literals, not parameters: EXECUTE's arguments take the prepared statement's types only as untyped literals.
  const args = params.map((p) => `'${String(p).replaceAll("'", "''")}'`).join(", ");
  await client.unsafe(`prepare planned as ${text}`);
  try {
    return await client
      .begin(async (tx) => {
        await tx`set local plan_cache_mode = force_generic_plan`;
        await tx`set local enable_seqscan = off`;
        await tx`set local enable_hashjoin = off`;
        await tx`set local enable_mergejoin = off`;
        await tx`set local enable_material = off`;
        const [row] = await tx.unsafe<Array<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>>(
          `explain (analyze, costs off, format json) execute planned${args ? `(${args})` : ""}`,
        );
        const plan = row?.["QUERY PLAN"][0]?.Plan;
        if (plan === undefined) throw new Error("no plan");
        throw new Rollback(nodes(plan));
      })
      .catch((e: unknown) => {
        if (e instanceof Rollback) return e.plan;
        throw e;
      });
  } finally {
    await client.unsafe("deallocate planned");
  }
}

class Rollback extends Error {
  constructor(readonly plan: PlanNode[]) {
    super("rollback");
  }
}

/** A `Sql` that plans what the repository would run instead of running it, JSON parameters as the pool sends them. */
function planning(): { sql: Sql; plans: PlanNode[][] } {
  const plans: PlanNode[][] = [];
  return {
    plans,
    sql: {
      run: async (text, params) => {
        plans.push(await planOf(text.replaceAll("::jsonb", "::text::jsonb"), params));
        return [];
      },
    },
  };
}

/** The notifications partitions a plan scanned (Actual Loops > 0), and every one it could have. */
function partitionsOf(plan: PlanNode[]): { read: string[]; planned: string[] } {
  const scans = plan.filter((n) => n["Relation Name"]?.startsWith("notifications_"));
  return {
    read: [...new Set(scans.filter((n) => (n["Actual Loops"] ?? 0) > 0).map((n) => n["Relation Name"] ?? ""))],
    planned: [...new Set(scans.map((n) => n["Relation Name"] ?? ""))],
  };
}

describe("with a year of month partitions", () => {
  test("the processor's writes by id and created_at read one partition, chosen while they run", async () => {
    const [id, row] = [...rows].find(([, r]) => r.createdAt.startsWith(monthAfter(now, -6).from.toISOString().slice(0, 7))) ?? [];
    if (id === undefined || row === undefined) throw new Error("no row six months back");
    const { sql, plans } = planning();
    await beginAttempts(sql, [{ id, createdAt: row.createdAt, attempt: 2 }]);
    await writeOutcomes(sql, [
      {
        id,
        createdAt: row.createdAt,
        attempt: 1,
        provider: "sink",
        outcome: "sent",
        latencyMs: 1,
        status: "sent",
        error: null,
        providerMessageId: null,
      },
    ]);
    await markSuppressed(sql, [{ id, createdAt: row.createdAt, reason: "test", unbegin: false }]);
    expect(plans).toHaveLength(3);
    for (const plan of plans) {
      const { read, planned } = partitionsOf(plan);
      expect(read).toEqual([`notifications_${monthAfter(now, -6).suffix}`]);
      expect(planned.length).toBeGreaterThanOrEqual(months);
    }
  });

  test("a retention batch takes its tenant's next expired rows off the index, not all of them sorted", async () => {
    await client`insert into tenants (id, retention_days) values ('acme', 30)`;
    // The pass as it runs, but its batch statements planned (and rolled back) instead of run.
    const { sql, plans } = planning();
    await db.session((session) =>
      runRetention(
        { run: (text, params) => (text.includes("delete from notifications n using doomed") ? sql.run(text, params) : session.run(text, params)) },
        { defaultDays: 400, batchSize: 10 },
      ),
    );
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans) {
      // A Sort over anything but the batch's own ten rows (the CTE) would be every expired row, sorted for each batch.
      expect(plan.some((n) => n["Node Type"] === "Sort" && (n.Plans ?? []).some((c) => c["Node Type"] !== "CTE Scan"))).toBe(false);
    }
  });

  test("a lookup by id alone reads each partition's primary key, and no partition whole", async () => {
    const [id] = rows.keys();
    const owned = and(eq(notifications.tenantId, "acme"), eq(notifications.id, id ?? ""));
    const queries = {
      get: db.db.select(viewColumns).from(notifications).where(owned).limit(1).toSQL(),
      attempts: db.db
        .select()
        .from(deliveryAttempts)
        .where(eq(deliveryAttempts.notificationId, id ?? ""))
        .orderBy(asc(deliveryAttempts.attempt))
        .toSQL(),
      cancel: db.db
        .update(notifications)
        .set({ status: "cancelled" })
        .where(and(owned, inArray(notifications.status, [...CANCELLABLE_STATUSES])))
        .toSQL(),
    };
    for (const [name, q] of Object.entries(queries)) {
      const plan = await planOf(q.sql, q.params);
      const scans = plan.filter((n) => /^(notifications|delivery_attempts)_/.test(n["Relation Name"] ?? ""));
      expect({ name, whole: scans.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"]) }).toEqual({ name, whole: [] });
      expect(scans.length).toBeGreaterThanOrEqual(months);
    }
  });
});
