// One conformance suite for the gateway on every runtime it ships for: the
// same tests against Bun, Node, Deno and workerd, each as a real child process
// on a nats-server of its own (over TCP or its WebSocket listener), a database
// of its own, and a Bun processor beside it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { RedisClient } from "bun";
import pkg from "../package.json" with { type: "json" };
import { canonicalJson } from "../gateway/canonical-json.ts";
import { encodePending, idempotencyKey } from "../gateway/store/codec.ts";
import { ConfigSchema } from "../schemas/config.ts";
import { auditLog } from "../schemas/tables.ts";
import { topology } from "../schemas/subjects.ts";
import { eventually } from "./support/eventually.ts";
import { denoBinary } from "./support/deno.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { startPrivateNats, type PrivateNats } from "./support/nats-server.ts";
import { startUpstashCompatibleServer, type UpstashCompatibleServer } from "./support/upstash-rest.ts";
import { startWorkerdGateway } from "./support/workerd.ts";
import { TENANT_KEY } from "./support/constants.ts";
import { SERVICES } from "./support/services.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";

const ROOT = join(import.meta.dir, "..");
const BODY_LIMIT = 4096;

interface Variant {
  runtime: "bun" | "node" | "deno" | "workerd";
  transport: "tcp" | "ws";
}

const VARIANTS: Variant[] = [
  { runtime: "bun", transport: "tcp" },
  { runtime: "node", transport: "tcp" },
  { runtime: "node", transport: "ws" },
  { runtime: "deno", transport: "tcp" },
  { runtime: "deno", transport: "ws" },
  { runtime: "workerd", transport: "ws" },
];

const buildDir = mkdtempSync(join(tmpdir(), "herald-gateway-builds-"));
let nodeBundle: Promise<string> | undefined;
let workerdBundle: Promise<string> | undefined;
let upstash: UpstashCompatibleServer | undefined;
const UPSTASH_TOKEN = "conformance-upstash-token";

afterAll(async () => {
  rmSync(buildDir, { recursive: true, force: true });
  await upstash?.stop();
});

/** `npm run build:<runtime>`'s script, into a directory of this run; resolves to the module's path. */
async function buildGateway(runtime: "node" | "workerd", outdir: string): Promise<string> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "bin/build-gateway.ts"), runtime, outdir], { stdout: "pipe", stderr: "inherit" });
  const printed = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`could not build the ${runtime} gateway: ${printed}`);
  return printed.trim().replace(/^built /, "");
}

/** A gateway on one runtime, whatever starts it. */
interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/** `npm run gateway:deno` as package.json has it, with its permissions, from the repository's root. */
function denoCommand(): string[] {
  const script = pkg.scripts["gateway:deno"];
  expect(script.startsWith("node bin/bootstrap.mjs exec deno ")).toBe(true);
  const [, ...args] = script.slice("node bin/bootstrap.mjs exec ".length).split(" ");
  return [denoBinary(), ...args.map((arg) => (arg.endsWith(".ts") ? join(ROOT, arg) : arg))];
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
async function stopWithin(proc: HeraldProcess, ms: number): Promise<void> {
  const timer = setTimeout(() => proc.proc.kill("SIGKILL"), ms);
  await proc.signal("SIGTERM");
  clearTimeout(timer);
}

async function startGateway(variant: Variant, env: Record<string, string>): Promise<RunningGateway> {
  const herald = (proc: HeraldProcess): RunningGateway => ({ url: proc.url, stop: () => stopWithin(proc, 10_000) });
  switch (variant.runtime) {
    case "bun":
      return herald(await startHerald("gateway", env));
    case "node": {
      nodeBundle ??= buildGateway("node", join(buildDir, "node"));
      return herald(await startHerald("gateway", env, { command: ["node", await nodeBundle] }));
    }
    case "deno":
      return herald(await startHerald("gateway", { ...env, HOME: process.env.HOME ?? "/root" }, { command: denoCommand() }));
    case "workerd": {
      workerdBundle ??= buildGateway("workerd", join(buildDir, "workerd"));
      // No TCP for Redis there: idempotency over Upstash's REST protocol, on the same Redis.
      upstash ??= await startUpstashCompatibleServer({ redisUrl: SERVICES.redis, token: UPSTASH_TOKEN });
      const { REDIS_URL: _tcpOnly, ...rest } = env;
      return startWorkerdGateway(await workerdBundle, { ...rest, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: UPSTASH_TOKEN });
    }
  }
}

const item = (title: string) => ({ userId: "user-rt", channel: "in_app", payload: { title, body: "from the conformance suite" } });

for (const variant of VARIANTS) {
  const label = `${variant.runtime} (NATS over ${variant.transport === "ws" ? "WebSocket" : "TCP"})`;

  describe(`gateway on ${label}`, () => {
    let nats: PrivateNats;
    let stack: Stack;
    let processor: HeraldProcess;
    let gateway: RunningGateway;
    let nc: NatsConnection;
    let jsm: JetStreamManager;
    let redis: RedisClient;
    let streamName: string;

    beforeAll(async () => {
      nats = await startPrivateNats();
      stack = await createStack({ NATS_URL: nats.url, HERALD_PUBLISH_TIMEOUT_MS: "1000", HERALD_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
      processor = await startHerald("processor", stack.env);
      gateway = await startGateway(variant, { ...stack.env, NATS_URL: variant.transport === "ws" ? nats.wsUrl : nats.url });
      nc = await connect({ servers: nats.url });
      jsm = await jetstreamManager(nc);
      redis = new RedisClient(SERVICES.redis);
      streamName = topology(stack.namespace).streams.work;
    }, 60_000);

    afterAll(async () => {
      redis?.close();
      await nc?.close();
      await gateway?.stop();
      if (processor) await stopWithin(processor, 10_000);
      await nats?.remove();
      await stack?.cleanup();
    });

    const messages = async () => (await jsm.streams.info(streamName)).state.messages;

    test(`${label}: 401 without a key and with an unknown one`, async () => {
      const none = await fetch(`${gateway.url}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(none.status).toBe(401);
      expect(none.headers.get("content-type")).toContain("application/problem+json");
      const wrong = await post(gateway.url, "/v1/notifications", item("x"), { authorization: "Bearer not-a-key-0123456789" });
      expect(wrong.status).toBe(401);
    });

    test(`${label}: 400 problem+json naming each bad field; nothing published`, async () => {
      const before = await messages();
      const res = await post(gateway.url, "/v1/notifications", { userId: "user-rt", channel: "pigeon", payload: {} });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await res.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.map((e) => e.path)).toContain("channel");
      const malformed = await post(gateway.url, "/v1/notifications", '{"userId":');
      expect(malformed.status).toBe(400);
      expect(await messages()).toBe(before);
    });

    test(`${label}: 413 over the body limit, 415 for a body that is not JSON`, async () => {
      const big = await post(gateway.url, "/v1/notifications", item("x".repeat(BODY_LIMIT)));
      expect(big.status).toBe(413);
      const text = await post(gateway.url, "/v1/notifications", JSON.stringify(item("x")), { "content-type": "text/plain" });
      expect(text.status).toBe(415);
    });

    test(`${label}: 202 once JetStream holds it, readable at once, then sent by the Bun processor`, async () => {
      const before = await messages();
      const res = await post(gateway.url, "/v1/notifications", item("accepted"));
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      // The 202 came after the ack: the message is in the stream already.
      expect(await messages()).toBe(before + 1);
      const stored = await jsm.streams.getMessage(streamName, { seq: (await jsm.streams.info(streamName)).state.last_seq });
      expect(stored === null ? null : (stored.json() as { id: string }).id).toBe(id);
      const read = await get(gateway.url, `/v1/notifications/${id}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { id: string }).id).toBe(id);
      const sent = await eventually(
        async () => {
          const body = (await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string };
          return body.status === "sent" ? body : null;
        },
        { timeoutMs: 15_000, everyMs: 100 },
      );
      expect(sent.status).toBe("sent");
    });

    test(`${label}: an Idempotency-Key replays its answer (also for the body re-serialized), 422 for another body, 409 while in flight`, async () => {
      const key = `rt-${variant.runtime}-${variant.transport}`;
      const first = await post(gateway.url, "/v1/notifications", item("once"), { "idempotency-key": key });
      expect(first.status).toBe(202);
      const { id } = (await first.json()) as { id: string };
      const reordered = `{ "payload": { "body": "from the conformance suite", "title": "once" }, "channel": "in_app", "userId": "user-rt" }`;
      const again = await post(gateway.url, "/v1/notifications", reordered, { "idempotency-key": key });
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotency-replayed")).toBe("true");
      expect(((await again.json()) as { id: string }).id).toBe(id);
      const other = await post(gateway.url, "/v1/notifications", item("twice"), { "idempotency-key": key });
      expect(other.status).toBe(422);

      // A claim another gateway holds and has not finished.
      const pendingKey = `${key}-pending`;
      const hash = new Bun.CryptoHasher("sha256").update(canonicalJson(item("pending"))).digest("hex");
      await redis.send("SET", [idempotencyKey(`${stack.namespace}:`, "acme", pendingKey), encodePending(hash), "PX", "30000"]);
      const inFlight = await post(gateway.url, "/v1/notifications", item("pending"), { "idempotency-key": pendingKey });
      expect(inFlight.status).toBe(409);
    });

    test(`${label}: lists, attempts, the inbox and cancel work against Postgres`, async () => {
      const sent = (await (await post(gateway.url, "/v1/notifications", item("listed"))).json()) as { id: string };
      await eventually(async () => ((await (await get(gateway.url, `/v1/notifications/${sent.id}`)).json()) as { status: string }).status === "sent" || null, {
        timeoutMs: 15_000,
        everyMs: 100,
      });
      const list = (await (await get(gateway.url, "/v1/notifications?userId=user-rt&limit=50")).json()) as { data: Array<{ id: string }> };
      expect(list.data.map((n) => n.id)).toContain(sent.id);
      const attempts = (await (await get(gateway.url, `/v1/notifications/${sent.id}/attempts`)).json()) as { data: Array<{ outcome: string }> };
      expect(attempts.data.length).toBeGreaterThanOrEqual(1);
      const inbox = (await (await get(gateway.url, "/v1/inbox?userId=user-rt")).json()) as { data: Array<{ id: string }>; unread: number };
      expect(inbox.data.map((n) => n.id)).toContain(sent.id);
      const read = await post(gateway.url, `/v1/inbox/${sent.id}/read`, "");
      expect(read.status).toBeLessThan(300);

      const later = new Date(Date.now() + 3_600_000).toISOString();
      const scheduled = (await (await post(gateway.url, "/v1/notifications", { ...item("later"), scheduledFor: later })).json()) as { id: string };
      const cancelled = await eventually(
        async () => {
          const res = await post(gateway.url, `/v1/notifications/${scheduled.id}/cancel`, "");
          return res.status === 200 ? ((await res.json()) as { status: string }) : null;
        },
        { timeoutMs: 15_000, everyMs: 200 },
      );
      expect(cancelled.status).toBe("cancelled");
    });

    test(`${label}: an administrative action is recorded with the TCP peer as its client address, never X-Forwarded-For`, async () => {
      const res = await fetch(`${gateway.url}/v1/categories/rt-audit`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
        body: JSON.stringify({ required: false }),
      });
      expect(res.status).toBe(201);
      const rows = await stack.db.db.select().from(auditLog).where(eq(auditLog.target, "rt-audit"));
      // workerd's entry has no socket to ask; behind Cloudflare the address would be the edge's to tell.
      const clientAddress = variant.runtime === "workerd" ? null : "127.0.0.1";
      expect(rows.map((r) => ({ actor: r.actor, tenantId: r.tenantId, action: r.action, clientAddress: r.clientAddress }))).toEqual([
        { actor: "tenant:acme", tenantId: "acme", action: "category.created", clientAddress },
      ]);
    });

    test(`${label}: NATS down → 503 with Retry-After, and no 202`, async () => {
      await nats.stop();
      const res = await post(gateway.url, "/v1/notifications", item("outage"), { "idempotency-key": `${variant.runtime}-${variant.transport}-outage` });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      await nats.start();
    }, 20_000);
  });
}

describe("what a runtime lacks is refused at start, in plain words", () => {
  test("node: no HERALD_API_KEYS exits 78 naming it, before connecting anywhere", async () => {
    nodeBundle ??= buildGateway("node", join(buildDir, "node"));
    const proc = Bun.spawn(["node", await nodeBundle], {
      env: { PATH: process.env.PATH ?? "", NATS_URL: "nats://127.0.0.1:1", DATABASE_URL: "postgres://127.0.0.1:1/x" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(78);
    const err = await new Response(proc.stderr).text();
    expect(err).toContain("HERALD_API_KEYS: required by the gateway");
    expect(err).not.toContain("    at ");
  });

  test("workerd: REDIS_URL is refused (no TCP there) with a 503 that says to use Upstash; a nats:// URL likewise", async () => {
    workerdBundle ??= buildGateway("workerd", join(buildDir, "workerd"));
    const base = { HERALD_API_KEYS: "acme:test-key-acme-0123456789", DATABASE_URL: "postgres://127.0.0.1:1/x" };
    for (const [env, says] of [
      [{ ...base, NATS_URL: "ws://127.0.0.1:1", REDIS_URL: SERVICES.redis }, "UPSTASH_REDIS_REST_URL"],
      [{ ...base, NATS_URL: "nats://127.0.0.1:1" }, "use ws:// or wss://"],
    ] as const) {
      const worker = await startWorkerdGateway(await workerdBundle, env);
      try {
        const res = await fetch(`${worker.url}/health/live`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { detail: string }).detail).toContain(says);
      } finally {
        await worker.stop();
      }
    }
  });
});

describe("deploy/workerd", () => {
  const capnp = readFileSync(join(ROOT, "deploy/workerd/config.capnp"), "utf8");
  const wrangler = Bun.TOML.parse(readFileSync(join(ROOT, "deploy/workerd/wrangler.toml"), "utf8")) as {
    main: string;
    compatibility_date: string;
    compatibility_flags: string[];
    vars: Record<string, string>;
    durable_objects: { bindings: Array<{ name: string; class_name: string }> };
  };
  const configKeys = new Set(Object.keys(ConfigSchema.shape));

  test("wrangler.toml deploys the bundle config.capnp runs, with the same dates, flags and Durable Object", () => {
    const embedded = /esModule = embed "([^"]+)"/.exec(capnp)?.[1];
    expect(wrangler.main).toBe(embedded ?? "");
    expect(join(ROOT, "deploy/workerd", wrangler.main)).toBe(join(ROOT, "dist/workerd/worker.js"));
    expect(capnp).toContain(`compatibilityDate = "${wrangler.compatibility_date}"`);
    expect(capnp).toContain(`compatibilityFlags = ${JSON.stringify(wrangler.compatibility_flags).replace(/","/g, '", "')}`);
    const [binding] = wrangler.durable_objects.bindings;
    expect(capnp).toContain(`(name = "${binding?.name}", durableObjectNamespace = "${binding?.class_name}")`);
    expect(readFileSync(join(ROOT, "gateway/runtime/workerd/worker.ts"), "utf8")).toContain(`export class ${binding?.class_name} extends DurableObject`);
  });

  test("every variable either file binds is one Herald reads", () => {
    const bound = [...capnp.matchAll(/fromEnvironment = "([A-Z0-9_]+)"/g)].map((m) => m[1] ?? "");
    expect(bound.length).toBeGreaterThan(5);
    expect([...bound, ...Object.keys(wrangler.vars)].filter((key) => !configKeys.has(key))).toEqual([]);
  });
});
