// docs/events.md promises a service written from that page alone can follow
// the events on NATS 2.9: its example runs here, unchanged, against a live
// Herald, and ends with the statuses Postgres holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, post, type Stack } from "./support/stack.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const ROOT = join(import.meta.dir, "..");

/** The TypeScript block after `<!-- example: <name> -->` in a docs page. */
function docsExample(page: string, name: string): string {
  const text = readFileSync(join(ROOT, page), "utf8");
  const marker = text.indexOf(`<!-- example: ${name} -->`);
  const start = text.indexOf("```ts\n", marker);
  const end = text.indexOf("\n```", start + 6);
  if (marker < 0 || start < 0 || end < 0) throw new Error(`${page} has no example ${name}`);
  return text.slice(start + 6, end + 1);
}

let stack: Stack;
let herald: HeraldProcess;
let hooks: WebhookReceiver;
let example: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let dir = "";

beforeAll(async () => {
  stack = await createStack();
  hooks = startWebhookReceiver({ "/gone": () => ({ status: 410 }) });
  herald = await startHerald("all", stack.env);
  // Inside the repository, so the example finds the packages it imports as a service would find its own.
  dir = join(ROOT, ".data", `docs-example-${stack.namespace}`);
  mkdirSync(dir, { recursive: true });
});

afterAll(async () => {
  example?.kill("SIGKILL");
  await herald?.signal("SIGTERM");
  await hooks?.stop();
  await stack?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("docs/events.md", () => {
  test("its subscriber example, run as written, keeps the status Postgres holds for every notification", async () => {
    const ids: string[] = [];
    const send = async (body: Record<string, unknown>) => {
      const res = await post(herald.url, "/v1/notifications", body);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    };
    for (let i = 0; i < 10; i++) await send({ userId: `u-${i}`, channel: "in_app", payload: { title: "Hi", body: `n${i}` } });
    for (let i = 0; i < 3; i++) await send({ userId: `w-${i}`, channel: "webhook", payload: { url: hooks.url("/gone"), body: { i } } });
    await send({ userId: "later", channel: "in_app", payload: { title: "Later", body: "…" }, scheduledFor: new Date(Date.now() + 3_600_000).toISOString() });
    const later = ids.at(-1) ?? "";
    await eventually(async () => ((await stack.db.sql.run("select 1 from notifications where id = $1", [later])).length > 0 ? true : null));
    expect((await post(herald.url, `/v1/notifications/${later}/cancel`, {})).status).toBe(200);

    const file = join(dir, "subscriber.ts");
    writeFileSync(file, docsExample("docs/events.md", "subscriber"));
    example = Bun.spawn([process.execPath, file], {
      env: { PATH: process.env.PATH ?? "", HERALD_NAMESPACE: stack.namespace, NATS_URL: stack.env.NATS_URL ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const seen = new Map<string, string>();
    const lines = (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of example.stdout) {
        buf += decoder.decode(chunk, { stream: true });
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const { id, status } = JSON.parse(buf.slice(0, nl)) as { id: string; status: string };
          seen.set(id, status);
          buf = buf.slice(nl + 1);
        }
      }
    })();

    const expected = await eventually(
      async () => {
        const rows = await stack.db.sql.run("select id::text as id, status from notifications", []);
        const final = rows.every((r) => ["sent", "failed", "cancelled"].includes(String(r.status)));
        return final && rows.length === ids.length ? new Map(rows.map((r) => [String(r.id), String(r.status)])) : null;
      },
      { timeoutMs: 20_000, label: "every notification final" },
    );
    await eventually(async () => ([...expected].every(([id, status]) => seen.get(id) === status) ? true : null), {
      timeoutMs: 15_000,
      label: "the example agrees with Postgres",
    });
    expect(seen).toEqual(expected);
    expect([...expected.values()].sort()).toEqual([...Array(10).fill("sent"), ...Array(3).fill("failed"), "cancelled"].sort());
    example.kill("SIGTERM");
    await lines.catch(() => undefined);
  });
});
