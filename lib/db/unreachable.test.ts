import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { freePort } from "../probe.ts";
import { isRefusedData } from "./durable.ts";
import { isUnreachable } from "./unreachable.ts";
import { openPool } from "./pool.ts";

// The errors these tell apart are the real ones: from the machine's Postgres and
// from a loopback port nothing listens on, through drizzle as the code meets them.
let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error("expected the statement to fail");
}

test("a refused connection is unreachable, not refused data, through drizzle and raw", async () => {
  const pool = openPool(`postgres://postgres@127.0.0.1:${freePort()}/nowhere`, { max: 1 });
  try {
    const viaDrizzle = await errorOf(() => pool.db.execute(sql`select 1`));
    const raw = await errorOf(() => pool.sql.run("select 1", []));
    for (const err of [viaDrizzle, raw]) {
      expect(isUnreachable(err)).toBe(true);
      expect(isRefusedData(err)).toBe(false);
    }
  } finally {
    await pool.close();
  }
});

test("a statement Postgres refuses, or a bug in one, is not unreachable", async () => {
  const refused = await errorOf(() => testDb.db.execute(sql`select 1 / 0`));
  expect(isRefusedData(refused)).toBe(true);
  expect(isUnreachable(refused)).toBe(false);
  const bug = await errorOf(() => testDb.db.execute(sql`select no_such_column from pg_class`));
  expect(isUnreachable(bug)).toBe(false);
  expect(isUnreachable(new Error("db exploded"))).toBe(false);
});

test("a backend terminated mid-session is unreachable (57P01, or the lost connection)", async () => {
  const pool = openPool(testDb.url, { max: 1 });
  try {
    const [row] = await pool.sql.run("select pg_backend_pid() as pid", []);
    const killer = openPool(testDb.url, { max: 1 });
    const pending = errorOf(() => pool.sql.run("select pg_sleep(5)", []));
    await Bun.sleep(200);
    await killer.sql.run("select pg_terminate_backend($1)", [row?.pid]);
    await killer.close();
    expect(isUnreachable(await pending)).toBe(true);
  } finally {
    await pool.close();
  }
});
