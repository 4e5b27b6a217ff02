// A plain `desc()` asks for NULLS FIRST, which the DESC NULLS LAST indexes cannot give: each page must come off an index in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { inboxPageQuery, unreadCountQuery } from "./inbox-store.ts";
import { listQuery } from "./reads.ts";

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

let db: TestDatabase;
let client: postgres.Sql;
/** Each partition's index → the partitioned index it belongs to: a plan names the partitions' own. */
const parentIndex = new Map<string, string>();

beforeAll(async () => {
  db = await createTestDatabase();
  client = postgres(db.url, { max: 1, onnotice: () => {} });
  // Two users, both channels, some read: enough rows for the statistics, few enough to be quick.
  await client`
    insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at, sent_at, read_at)
    select gen_random_uuid(), 'acme', 'user-' || (g % 2), case when g % 3 = 0 then 'email' else 'in_app' end,
      'transactional', 'normal', case when g % 5 = 0 then 'failed' else 'sent' end, '{"title":"t","body":"b"}'::jsonb,
      now() - g * interval '1 second', now(), case when g % 7 = 0 then null else now() end
    from generate_series(1, 2000) g`;
  await client`analyze notifications`;
  const indexes = await client<Array<{ child: string; parent: string }>>`
    select c.relname as child, p.relname as parent from pg_inherits i
    join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where c.relkind = 'i'`;
  for (const { child, parent } of indexes) parentIndex.set(child, parent);
});

/** The indexes a plan reads, by the names of the partitioned indexes they belong to. */
function indexesOf(plan: PlanNode[]): string[] {
  return [...new Set(plan.flatMap((n) => (n["Index Name"] ? [parentIndex.get(n["Index Name"]) ?? n["Index Name"]] : [])))];
}

afterAll(async () => {
  await client.end();
  await db.drop();
});

/** The plan Postgres picks for `query` when a scan of the whole table is not an option, so the indexes' usefulness shows at this size. */
async function planOf(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<PlanNode[]> {
  const { sql, params } = query.toSQL();
  return client.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    await tx`set local enable_bitmapscan = off`;
    const [row] = await tx.unsafe<Array<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>>(
      `explain (format json) ${sql}`,
      params as postgres.ParameterOrJSON<never>[],
    );
    const plan = row?.["QUERY PLAN"][0]?.Plan;
    if (plan === undefined) throw new Error("no plan");
    return nodes(plan);
  });
}

const cursor = { createdAt: new Date(Date.now() - 500_000).toISOString().replace("Z", "000Z"), id: "019ab000-0000-7000-8000-000000000000" };

describe("read plans", () => {
  const pages = {
    "a tenant's notifications": { limit: 20 },
    "a tenant's notifications after a cursor": { limit: 20, cursor },
    "one user's notifications": { limit: 20, userId: "user-1" },
    "one status's notifications": { limit: 20, status: "failed" as const },
    "one status's notifications after a cursor": { limit: 20, status: "failed" as const, cursor },
  };
  for (const [name, query] of Object.entries(pages)) {
    test(`${name}: a page off an index, in its order, no sort`, async () => {
      const plan = await planOf(listQuery(db.db, "acme", query));
      expect(plan.map((n) => n["Node Type"])).not.toContain("Sort");
      expect(indexesOf(plan).some((name) => name.startsWith("notifications_tenant_"))).toBe(true);
    });
  }

  test("an inbox page, all or unread only, comes off an index in its order", async () => {
    for (const unread of [false, true]) {
      for (const at of [undefined, cursor]) {
        const plan = await planOf(inboxPageQuery(db.db, "acme", { userId: "user-1", unread, limit: 20, ...(at ? { cursor: at } : {}) }));
        expect(plan.map((n) => n["Node Type"])).not.toContain("Sort");
      }
    }
  });

  test("the unread count and the unread page read the partial index of unread in-app rows", async () => {
    const count = await planOf(unreadCountQuery(db.db, "acme", "user-1"));
    expect(indexesOf(count)).toEqual(["notifications_inbox_unread"]);
    const unreadPage = await planOf(inboxPageQuery(db.db, "acme", { userId: "user-1", unread: true, limit: 20 }));
    expect(indexesOf(unreadPage)).toEqual(["notifications_inbox_unread"]);
  });

  test("the queries still answer what they answered: newest first, the count of unread delivered in-app rows", async () => {
    const page = await listQuery(db.db, "acme", { limit: 5, userId: "user-0" });
    const times = page.map((r) => r.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const [expected] = await client<Array<{ n: number }>>`
      select count(*)::int as n from notifications
      where tenant_id = 'acme' and user_id = 'user-1' and channel = 'in_app' and status = 'sent' and read_at is null`;
    const [got] = await unreadCountQuery(db.db, "acme", "user-1");
    expect(got?.n).toBe(expected?.n ?? -1);
    expect(got?.n).toBeGreaterThan(0);
  });
});
