import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { count } from "drizzle-orm";
import { freePort, waitForPort } from "../lib/probe.ts";
import { notifications } from "../schemas/tables.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, post, type Stack } from "./support/stack.ts";
import { SERVICES } from "./support/services.ts";

// NATS of our own (a real nats-server child) so the test can take it away.
const natsPort = freePort();
const natsDir = mkdtempSync(join(tmpdir(), "herald-nats-"));
let nats: ReturnType<typeof Bun.spawn> | null = null;
let stack: Stack;
let gateway: HeraldProcess;

async function startNats(): Promise<void> {
  nats = Bun.spawn(["nats-server", "-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", natsDir], { stdout: "ignore", stderr: "ignore" });
  if (!(await waitForPort("127.0.0.1", natsPort, 10_000))) throw new Error("nats-server did not start");
}

async function stopNats(): Promise<void> {
  nats?.kill("SIGKILL");
  await nats?.exited;
  nats = null;
}

async function idempotencyKeys(prefix: string): Promise<number> {
  const { RedisClient } = await import("bun");
  const redis = new RedisClient(SERVICES.redis);
  const [, keys] = (await redis.send("SCAN", ["0", "MATCH", `${prefix}*`, "COUNT", "10000"])) as [string, string[]];
  redis.close();
  return keys.length;
}

beforeAll(async () => {
  await startNats();
  stack = await createStack({ NATS_URL: `nats://127.0.0.1:${natsPort}`, HERALD_PUBLISH_TIMEOUT_MS: "1000" });
  gateway = await startHerald("gateway", stack.env);
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await stopNats();
  await stack?.cleanup();
  rmSync(natsDir, { recursive: true, force: true });
});

test("NATS unreachable at publish → 503 + Retry-After, nothing stored; the same key succeeds once NATS is back", async () => {
  const body = { userId: "user-1", channel: "in_app", payload: { title: "Hi", body: "outage" } };
  await stopNats();

  const refused = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "outage-1" });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBeTruthy();
  expect(refused.headers.get("content-type")).toContain("application/problem+json");
  expect(await idempotencyKeys(`${stack.namespace}:`)).toBe(0);
  const [rows] = await stack.db.db.select({ n: count() }).from(notifications);
  expect(rows?.n).toBe(0);

  await startNats();
  const accepted = await eventually(
    async () => {
      const res = await post(gateway.url, "/v1/notifications", body, { "idempotency-key": "outage-1" });
      return res.status === 202 ? res : null;
    },
    { timeoutMs: 15_000, everyMs: 250 },
  );
  expect(accepted.headers.get("idempotency-replayed")).toBeNull();
}, 40_000);
