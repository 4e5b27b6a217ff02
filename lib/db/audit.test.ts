import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { auditLog } from "../../schemas/tables.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/services.ts";
import { appendAudit, listAudit, recorded, type AuditEntry } from "./audit.ts";

let db: TestDatabase;
const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  actor: "operator:ops",
  tenantId: "acme",
  action: "api_key.created",
  target: "k-1",
  clientAddress: "127.0.0.1",
  ...over,
});

beforeAll(async () => {
  db = await createTestDatabase();
  await appendAudit(db.db, entry({ details: { scopes: ["send"] } }));
  await appendAudit(db.db, entry({ action: "api_key.revoked" }));
  await appendAudit(db.db, entry({ actor: "key:k-9", action: "user.erased", target: "u-1", details: { notifications: 2 } }));
  await appendAudit(db.db, entry({ tenantId: "beta", actor: "tenant:beta", action: "template.published", target: "welcome" }));
  await appendAudit(db.db, entry({ tenantId: null, actor: "cli", action: "dead_letters.replayed", target: null, clientAddress: null }));
  // An action whose name looks like a prefix match under LIKE (`_` is a wildcard there), never under starts_with.
  await appendAudit(db.db, entry({ action: "apiXkey.created" }));
});
afterAll(async () => {
  await db.drop();
});

/** The database's message for a statement that must fail (drizzle wraps it as the cause). */
async function refusal(statement: PromiseLike<unknown>): Promise<string> {
  try {
    await statement;
  } catch (err) {
    return err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
  }
  throw new Error("the statement was not refused");
}

const actions = async (query: Parameters<typeof listAudit>[1]) => (await listAudit(db.db, query)).data.map((r) => r.action);

describe("the audit log", () => {
  test("lists newest first with every field, the time as ISO", async () => {
    const { data, next } = await listAudit(db.db, { limit: 100 });
    expect(data.map((r) => r.action)).toEqual([
      "apiXkey.created",
      "dead_letters.replayed",
      "template.published",
      "user.erased",
      "api_key.revoked",
      "api_key.created",
    ]);
    expect(next).toBeNull();
    expect(data.at(-1)).toMatchObject({ actor: "operator:ops", tenantId: "acme", target: "k-1", clientAddress: "127.0.0.1", details: { scopes: ["send"] } });
    expect(data.at(-1)?.at).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
  });

  test("filters by tenant, actor, exact action, action prefix and target", async () => {
    expect(await actions({ limit: 100, tenant: "beta" })).toEqual(["template.published"]);
    expect(await actions({ limit: 100, actor: "key:k-9" })).toEqual(["user.erased"]);
    expect(await actions({ limit: 100, action: "api_key.revoked" })).toEqual(["api_key.revoked"]);
    expect(await actions({ limit: 100, action: "api_key." })).toEqual(["api_key.revoked", "api_key.created"]);
    expect(await actions({ limit: 100, action: "api_key" })).toEqual([]);
    expect(await actions({ limit: 100, target: "u-1" })).toEqual(["user.erased"]);
    expect(await actions({ limit: 100, tenant: "acme", action: "api_key.", target: "k-1" })).toEqual(["api_key.revoked", "api_key.created"]);
  });

  test("filters by time: since inclusive, until exclusive", async () => {
    const [first] = (await listAudit(db.db, { limit: 100 })).data.slice(-1);
    const at = new Date(first?.at ?? 0);
    expect((await listAudit(db.db, { limit: 100, until: at })).data).toEqual([]);
    expect(await actions({ limit: 100, since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await actions({ limit: 100, since: new Date(at.getTime() - 1) })).length).toBe(6);
  });

  test("pages by id: each entry once, in order, the last page without a next", async () => {
    const seen: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await listAudit(db.db, { limit: 4, ...(before === undefined ? {} : { before }) });
      seen.push(...page.data.map((r) => r.action));
      if (page.next === null) break;
      before = page.next;
    }
    expect(seen).toEqual(await actions({ limit: 100 }));
  });

  test("recorded: the entry commits with the action, and neither when the action throws", async () => {
    const mark = `t-${crypto.randomUUID()}`;
    await expect(
      recorded(
        db.db,
        async (tx) => {
          await appendAudit(tx, entry({ action: "inner.write", target: mark }));
          throw new Error("the action failed");
        },
        () => entry({ action: "never.recorded", target: mark }),
      ),
    ).rejects.toThrow("the action failed");
    expect(await actions({ limit: 100, target: mark })).toEqual([]);
    const version = await recorded(
      db.db,
      async () => 3,
      (v) => entry({ action: "template.published", target: mark, details: { version: v } }),
    );
    expect(version).toBe(3);
    expect((await listAudit(db.db, { limit: 100, target: mark })).data.map((r) => r.details)).toEqual([{ version: 3 }]);
    await recorded(
      db.db,
      async () => null,
      () => null,
    );
    expect(await actions({ limit: 100, target: mark })).toEqual(["template.published"]);
  });

  test("is append-only: UPDATE, DELETE and TRUNCATE are refused, and the rows stay", async () => {
    const before = (await listAudit(db.db, { limit: 1000 })).data;
    expect(await refusal(db.db.update(auditLog).set({ actor: "someone-else" }))).toMatch(/audit_log is append-only: UPDATE refused/);
    expect(await refusal(db.db.delete(auditLog))).toMatch(/audit_log is append-only: DELETE refused/);
    expect(await refusal(db.db.execute(sql`truncate audit_log`))).toMatch(/audit_log is append-only: TRUNCATE refused/);
    expect((await listAudit(db.db, { limit: 1000 })).data).toEqual(before);
  });
});
