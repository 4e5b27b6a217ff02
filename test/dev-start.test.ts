// `npm start` is `herald all`: with no keys configured it makes a dev key,
// prints it, and that key must work, or the README's first curl fails.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "./support/eventually.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

let stack: Stack;
let herald: HeraldProcess;

beforeAll(async () => {
  stack = await createStack();
  const { HERALD_API_KEYS: _keys, HERALD_WEBHOOK_SECRET: _secret, ...env } = stack.env;
  herald = await startHerald("all", env);
});

afterAll(async () => {
  await herald?.signal("SIGTERM");
  await stack?.cleanup();
});

test("herald all without HERALD_API_KEYS sends with the dev key it printed", async () => {
  const dir = stack.env.HERALD_DATA_DIR ?? "";
  const { apiKey } = JSON.parse(readFileSync(join(dir, "dev-credentials.json"), "utf8")) as { apiKey: string };
  const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const res = await fetch(`${herald.url}/v1/notifications`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ userId: "user-123", channel: "in_app", payload: { title: "Hi", body: "Hello from Herald" } }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await eventually(
    async () => ((await (await fetch(`${herald.url}/v1/notifications/${id}`, { headers: auth })).json()) as { status: string }).status === "sent" || null,
  );
  // Any other key is still refused.
  expect((await fetch(`${herald.url}/v1/notifications/${id}`, { headers: { authorization: "Bearer hk_dev_not-the-key" } })).status).toBe(401);
});
