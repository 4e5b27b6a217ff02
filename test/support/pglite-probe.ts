// Compiled by test/binary.test.ts, so PGlite's migrations and batch statements are seen to work inside a binary.
import { sql } from "drizzle-orm";
import { openPglite } from "../../lib/db/connect.ts";
import { claim, readStates, writeOutcomes } from "../../lib/db/notification-repository.ts";
import { runRetention } from "../../lib/db/retention.ts";
import { envelope } from "./processor-harness.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: pglite-probe <data dir>");
const handle = await openPglite(dir);
await handle.migrate();
const tables = await handle.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
const e = envelope();
await claim(handle.sql, [e], Date.now());
await writeOutcomes(handle.sql, [
  { id: e.id, createdAt: e.acceptedAt, attempt: 1, provider: "sink", outcome: "sent", latencyMs: 1, status: "sent", error: null, providerMessageId: "pm-1" },
]);
const retention = await handle.session((sql) => runRetention(sql, { defaultDays: 90 }));
console.log(JSON.stringify({ tables, state: (await readStates(handle.sql, [e.id])).get(e.id), retention }));
await handle.close();
