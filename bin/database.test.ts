import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claim, readStates, writeOutcomes } from "../processor/store.ts";
import { envelope } from "../processor/test-harness.ts";
import { openPglite } from "./database.ts";

const dir = join(tmpdir(), `herald-pglite-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `npm start` without a Postgres: the embedded PGlite under the data dir runs
// the same migrations and the processor's batch statements (test/binary.test.ts
// does the same from inside a compiled binary).
test("PGlite migrates and runs the processor's claim and outcomes statements", async () => {
  const handle = await openPglite(dir);
  try {
    await handle.migrate();
    await handle.migrate();
    const e = envelope();
    const claimed = await claim(handle.db, [e], Date.now());
    expect([...claimed.firstSeen]).toEqual([e.id]);
    await writeOutcomes(handle.db, [{ id: e.id, attempt: 1, provider: "sink", outcome: "sent", latencyMs: 1, status: "sent", error: null, providerMessageId: null }]);
    expect((await readStates(handle.db, [e.id])).get(e.id)).toEqual({ status: "sent", attempts: 1, lastError: null });
  } finally {
    await handle.close();
  }
}, 60_000);
