import { afterAll, beforeAll, expect, test } from "bun:test";
import { RUNTIME_ENV } from "../lib/runtime-env.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

// `herald keys …` against the same Postgres a running gateway uses: what the CLI
// makes works there, what it revokes stops there, and each step is audited as `cli`.

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;
let stack: Stack;
let gateway: HeraldProcess;

beforeAll(async () => {
  stack = await createStack();
  gateway = await startHerald("gateway", stack.env);
}, 60_000);

afterAll(async () => {
  await gateway.signal("SIGTERM");
  await stack.cleanup();
});

async function herald(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "keys", ...args], {
    env: { PATH: process.env.PATH ?? "", ...RUNTIME_ENV, ...stack.env, LOG_LEVEL: "error" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const send = (key: string) =>
  fetch(`${gateway.url}/v1/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ userId: "u-cli", channel: "in_app", payload: { title: "Hi", body: "From the CLI's key" } }),
  });

test("keys create, list, rotate and revoke: the gateway honours each, and the audit log names the cli", async () => {
  const created = await herald("create", "--tenant", "acme", "--scopes", "send,read", "--name", "cli made");
  expect(created.code).toBe(0);
  const issued = JSON.parse(created.stdout) as { id: string; key: string; scopes: string[] };
  expect(issued.scopes).toEqual(["send", "read"]);
  expect((await send(issued.key)).status).toBe(202);

  const listed = await herald("list", "--tenant", "acme");
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(issued.id);
  expect(listed.stdout).not.toContain(issued.key);

  const rotated = await herald("rotate", issued.id, "--grace-seconds", "0");
  expect(rotated.code).toBe(0);
  const next = JSON.parse(rotated.stdout) as { id: string; key: string; previous: { id: string } };
  expect(next.previous.id).toBe(issued.id);
  expect((await send(next.key)).status).toBe(202);
  await expectSoon(async () => (await send(issued.key)).status === 401);

  expect((await herald("revoke", next.id)).code).toBe(0);
  await expectSoon(async () => (await send(next.key)).status === 401);

  const audit = await stack.db.sql.run("select actor, action, target from audit_log where actor = 'cli' order by id", []);
  expect(audit.map((r) => `${String(r.action)} ${String(r.target)}`)).toEqual([
    `api_key.created ${issued.id}`,
    `api_key.rotated ${issued.id}`,
    `api_key.revoked ${next.id}`,
  ]);
}, 60_000);

test("bad actions and flags exit 78 with one plain message, and change nothing", async () => {
  const before = await stack.db.sql.run("select count(*)::int as n from api_keys", []);
  for (const args of [
    ["create", "--tenant", "acme"],
    ["create", "--tenant", "acme", "--scopes", "everything"],
    ["create", "--tenant", "a b", "--scopes", "send"],
    ["rotate", "not-a-uuid"],
    ["rotate", "0199a3f4-6a7b-7c8d-9e0f-112233445566", "--grace-seconds", "-1"],
    ["explode"],
    [],
    ["list", "--colour"],
  ]) {
    const run = await herald(...args);
    expect({ args, code: run.code }).toEqual({ args, code: 78 });
    expect(run.stderr).toContain("invalid keys command");
  }
  expect(await stack.db.sql.run("select count(*)::int as n from api_keys", [])).toEqual(before);
}, 60_000);

async function expectSoon(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("not within 5 s");
    await Bun.sleep(50);
  }
}
