import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { notifications } from "../../schemas/tables.ts";
import { createTestDatabase, connectTestNats, testNamespace } from "./services.ts";

test("creates an isolated migrated database and drops it", async () => {
  const tdb = await createTestDatabase();
  const rows = await tdb.db.select({ n: sql<number>`count(*)::int` }).from(notifications);
  expect(rows[0]?.n).toBe(0);
  await tdb.drop();
});

test("gives each call its own namespace and reaches NATS", async () => {
  expect(testNamespace()).not.toBe(testNamespace());
  const nc = await connectTestNats();
  expect(nc.isClosed()).toBe(false);
  await nc.close();
});
