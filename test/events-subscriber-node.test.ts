import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildEvents } from "../sdk/events/build.ts";
import { createEventsStream, testEvent, type EventsStream } from "./support/events-stream.ts";
import { SERVICES } from "./support/services.ts";

// The package as it ships: the built dist, loaded by Node 20 on its own, receives an event.
let s: EventsStream;
let dir: string;
let entry: string;

beforeAll(async () => {
  s = await createEventsStream();
  dir = mkdtempSync(join(tmpdir(), "herald-events-node-"));
  entry = await buildEvents();
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("the built dist runs under Node: subscribe() parses an event, the handler sees it, close() ends the process", async () => {
  const ev = testEvent("sent");
  await s.publish(ev);
  const script = join(dir, "consume.mjs");
  writeFileSync(
    script,
    `import { subscribe, LifecycleEvent } from ${JSON.stringify(pathToFileURL(entry).href)};
const sub = await subscribe({
  servers: ${JSON.stringify(SERVICES.nats)},
  namespace: ${JSON.stringify(s.namespace)},
  startAt: "all",
  handler: async (event) => {
    console.log(JSON.stringify({ runtime: process.release.name, version: process.version, event: LifecycleEvent.parse(event) }));
    setTimeout(() => void sub.close(), 0);
  },
});
await sub.closed;
`,
  );
  const node = Bun.spawn(["node", script], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => node.kill(), 20_000);
  const [out, err, code] = await Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited]);
  clearTimeout(timer);
  expect(err).toBe("");
  expect(code).toBe(0);
  const line = JSON.parse(out.trim()) as { runtime: string; version: string; event: unknown };
  expect(line.runtime).toBe("node");
  expect(Number(line.version.slice(1).split(".")[0])).toBeGreaterThanOrEqual(20);
  expect(line.event).toEqual(ev);
}, 30_000);

test("its declarations type-check for a Node ESM consumer (nodenext), with the event's fields typed", async () => {
  // Inside dist, so the consumer resolves @nats-io/* and zod as an installed package would.
  const consumer = join(dirname(entry), "consumer-check.ts");
  writeFileSync(
    consumer,
    `import { subscribe, laterEvent, type LifecycleEvent, type EventType } from "./index.js";
const sub = await subscribe({
  servers: "nats://127.0.0.1:4222",
  namespace: "herald",
  types: ["sent", "failed"],
  startAt: { seq: 1 },
  handler: (e: LifecycleEvent) => {
    const t: EventType = e.type;
    const at: string = e.at;
    void laterEvent(undefined, e);
    void [t, at];
  },
});
await sub.close();
`,
  );
  const tsc = Bun.spawnSync(
    [
      "node_modules/.bin/tsc",
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--types",
      "node",
      consumer,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  rmSync(consumer);
  expect(tsc.stdout.toString() + tsc.stderr.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);
}, 60_000);
