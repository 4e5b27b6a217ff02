import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { ensurePartitions, listPartitions, monthAfter, monthOf } from "./partitions.ts";

let db: TestDatabase;
let client: postgres.Sql;
beforeAll(async () => {
  db = await createTestDatabase();
  client = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

/** The partition a notification's row is stored in. */
async function partitionOf(createdAt: string): Promise<string> {
  const id = crypto.randomUUID();
  await client`
    insert into notifications (id, tenant_id, user_id, channel, type, priority, status, payload, created_at)
    values (${id}, 'acme', 'u-1', 'in_app', 'transactional', 'normal', 'sent', '{}'::jsonb, ${createdAt})`;
  const [row] = await client<Array<{ p: string }>>`select tableoid::regclass::text as p from notifications where id = ${id}`;
  return row?.p ?? "";
}

describe("months", () => {
  test("are UTC calendar months, named by year and month, and roll over the year", () => {
    expect(monthOf(new Date("2026-12-31T23:59:59.999Z"))).toEqual({
      from: new Date("2026-12-01T00:00:00Z"),
      to: new Date("2027-01-01T00:00:00Z"),
      suffix: "p202612",
    });
    expect(monthAfter(new Date("2026-12-15T00:00:00Z"), 1).suffix).toBe("p202701");
    expect(monthAfter(new Date("2026-01-31T00:00:00Z"), 1).suffix).toBe("p202602");
  });
});

describe("ensurePartitions", () => {
  test("the migration leaves this month and the next, each with its attempts partition", async () => {
    const names = (await listPartitions(db.sql)).map((p) => p.name);
    const here = monthOf(new Date()).suffix;
    const next = monthAfter(new Date(), 1).suffix;
    expect(names).toEqual(expect.arrayContaining([`notifications_${here}`, `notifications_${next}`]));
    const attempts = (await listPartitions(db.sql, "delivery_attempts")).map((p) => p.name);
    expect(attempts).toEqual(names.map((n) => n.replace("notifications_", "delivery_attempts_")));
  });

  test("makes the months ahead once, whoever asks and however often, several at a time", async () => {
    const at = new Date(Date.UTC(2031, 4, 10));
    const reports = await Promise.all(Array.from({ length: 4 }, () => db.session((sql) => ensurePartitions(sql, at, 2))));
    expect(reports.flatMap((r) => r.created).sort()).toEqual(["notifications_p203105", "notifications_p203106", "notifications_p203107"]);
    expect((await ensurePartitions(db.sql, at, 2)).created).toEqual([]);
    const may = (await listPartitions(db.sql)).find((p) => p.name === "notifications_p203105");
    expect(may).toEqual({ name: "notifications_p203105", from: new Date("2031-05-01T00:00:00Z"), to: new Date("2031-06-01T00:00:00Z") });
    // The new partitions have the parent's indexes and keys, attached rather than built apart.
    const [pk] = await client<Array<{ n: number }>>`
      select count(*)::int as n from pg_indexes where tablename = 'notifications_p203105'`;
    expect(pk?.n).toBe(5);
  });

  test("a row goes to its month's partition, and to the default partition when its month has none", async () => {
    await ensurePartitions(db.sql, new Date(Date.UTC(2032, 0, 1)), 0);
    expect(await partitionOf("2032-01-31T23:59:59.999Z")).toBe("notifications_p203201");
    expect(await partitionOf("2032-02-01T00:00:00Z")).toBe("notifications_default");
    expect(await partitionOf("1999-12-31T00:00:00Z")).toBe("notifications_default");
  });

  test("leaves a month whose rows already went to the default partition, rather than move them under a lock", async () => {
    expect(await partitionOf("2033-03-05T00:00:00Z")).toBe("notifications_default");
    const report = await ensurePartitions(db.sql, new Date(Date.UTC(2033, 2, 1)), 1);
    expect(report.created).toEqual(["notifications_p203304"]);
    expect(report.skipped).toEqual([{ suffix: "p203303", reason: "rows of this month are in the default partition" }]);
    expect(await partitionOf("2033-03-06T00:00:00Z")).toBe("notifications_default");
  });
});
