import { afterAll, expect, test } from "bun:test";
import { readMigrationFiles } from "drizzle-orm/migrator";
import postgres from "postgres";
import { connectPostgres } from "./connect.ts";
import { createTestDatabase } from "../../test/support/services.ts";
import { embeddedMigrations } from "./migrations.ts";

const created: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const db of created) await db.drop();
});

test("embeds exactly the migrations drizzle reads from the folder, with the same hashes", () => {
  expect(embeddedMigrations()).toEqual(readMigrationFiles({ migrationsFolder: new URL("../../schemas/migrations", import.meta.url).pathname }));
});

test("migrates a new database (createTestDatabase did), records each migration once, and a second run changes nothing", async () => {
  const test = await createTestDatabase();
  created.push(test);
  const handle = connectPostgres(test.url, { max: 1 });
  const client = postgres(test.url, { max: 1, onnotice: () => {} });
  try {
    await handle.migrate();
    const applied = await client<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations order by created_at`;
    expect(applied.map((r) => r.hash)).toEqual(embeddedMigrations().map((m) => m.hash));
    const columns = await client`select 1 from information_schema.columns where table_name = 'delivery_attempts' and column_name = 'provider_message_id'`;
    expect(columns.length).toBe(1);
  } finally {
    await Promise.all([handle.close(), client.end()]);
  }
});
