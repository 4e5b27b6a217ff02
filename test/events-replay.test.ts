// `herald events replay` against a real processor's events: the window by the stream's own timestamps, filters, and each target.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { LifecycleEvent } from "../schemas/events.ts";
import type { Envelope } from "../schemas/envelope.ts";
import { eventually } from "./support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "./support/processor-harness.ts";

const CLI = new URL("../bin/herald.ts", import.meta.url).pathname;

let h: Harness;
/** Every message of the events stream with its stream time, read one by one: what the replay is compared with. */
let stream: { seq: number; time: Date; event: LifecycleEvent }[] = [];
/** Between the first and second group, and between the second and third. */
let a: Date;
let b: Date;

async function group(envelopes: Envelope[]): Promise<void> {
  for (const e of envelopes) await h.publish(e);
  await eventually(async () => (await Promise.all(envelopes.map((e) => h.row(e.id)))).every((r) => r?.status === "sent"), { timeoutMs: 15_000 });
  // Each `sent` event is in the stream: the group's last messages are stored before the pause starts.
  await eventually(async () => {
    const sent = new Set((await readAll()).filter((m) => m.event.type === "sent").map((m) => m.event.id));
    return envelopes.every((e) => sent.has(e.id));
  });
}

async function readAll(): Promise<{ seq: number; time: Date; event: LifecycleEvent }[]> {
  const jsm = await jetstreamManager(h.nc);
  const { state } = await jsm.streams.info(h.topo.streams.events);
  const out = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(h.topo.streams.events, { seq });
    if (m === null) continue;
    out.push({ seq, time: m.time, event: m.json<LifecycleEvent>() });
  }
  return out;
}

const pause = () => Bun.sleep(250);

beforeAll(async () => {
  h = await createHarness();
  await h.start(testSenders());
  await group([envelope(), envelope({ tenantId: "beta", channel: "email" }), envelope({ channel: "sms" })]);
  await pause();
  a = new Date();
  await pause();
  await group([envelope({ tenantId: "beta" }), envelope({ channel: "push" }), envelope({ tenantId: "beta", channel: "sms" }), envelope()]);
  await pause();
  b = new Date();
  await pause();
  await group([envelope(), envelope({ tenantId: "beta", channel: "email" })]);
  stream = await readAll();
}, 60_000);

afterAll(async () => {
  await h.cleanup();
});

async function herald(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, "events", ...args], {
    env: { PATH: process.env.PATH ?? "", NATS_URL: "nats://127.0.0.1:4222", HERALD_NAMESPACE: h.topo.namespace, LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const ids = (events: LifecycleEvent[]) => events.map((e) => e.eventId);
const lines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as LifecycleEvent);

describe("herald events replay", () => {
  test("prints exactly the events whose stream time is in [since, until), in stream order, one per line, and sums up on stderr", async () => {
    const inWindow = stream.filter((m) => m.time >= a && m.time < b);
    // The middle group: an accepted and a sent event for each of its four.
    expect(inWindow.length).toBe(8);
    const { code, stdout, stderr } = await herald("replay", "--since", a.toISOString(), "--until", b.toISOString());
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 0,
      stderr: `replayed 8 events (${inWindow[0]?.time.toISOString()} … ${inWindow.at(-1)?.time.toISOString()}) to stdout; 8 messages read, 0 not events`,
    });
    expect(lines(stdout)).toEqual(inWindow.map((m) => m.event));
  });

  test("without --until reads to the stream's end; a relative --since counts back from now", async () => {
    const { code, stdout } = await herald("replay", "--since", "-10m");
    expect(code).toBe(0);
    expect(ids(lines(stdout))).toEqual(ids(stream.map((m) => m.event)));
  });

  test("--type filters by one type on the server and by several here; --tenant by tenant", async () => {
    const all = stream.map((m) => m.event);
    const sent = await herald("replay", "--since", "-10m", "--type", "sent");
    expect(ids(lines(sent.stdout))).toEqual(ids(all.filter((e) => e.type === "sent")));
    const beta = await herald("replay", "--since", a.toISOString(), "--type", "accepted,sent", "--tenant", "beta");
    expect(ids(lines(beta.stdout))).toEqual(ids(stream.filter((m) => m.event.tenantId === "beta" && m.time >= a).map((m) => m.event)));
    expect(lines(beta.stdout).length).toBe(6);
    const none = await herald("replay", "--since", "-10m", "--type", "failed");
    expect({ code: none.code, stdout: none.stdout }).toEqual({ code: 0, stdout: "" });
    expect(none.stderr).toContain("replayed 0 events to stdout");
  });

  test("--to nats:<subject> republishes each event there, and a subject of Herald's own streams is refused", async () => {
    const subject = `${h.topo.namespace}-copy.events`;
    const got: LifecycleEvent[] = [];
    const sub = h.nc.subscribe(subject, { callback: (_err, m) => void got.push(m.json<LifecycleEvent>()) });
    await h.nc.flush();
    const { code, stderr } = await herald("replay", "--since", a.toISOString(), "--until", b.toISOString(), "--to", `nats:${subject}`);
    expect({ code, stderr: stderr.trim().split("\n").at(-1) }).toMatchObject({ code: 0 });
    expect(stderr).toContain(`to nats:${subject}`);
    await eventually(async () => got.length === 8);
    expect(got).toEqual(stream.filter((m) => m.time >= a && m.time < b).map((m) => m.event));
    sub.unsubscribe();

    const refused = await herald("replay", "--since", "-10m", "--to", `nats:${h.topo.eventSubject("sent")}`);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(`is stored by the stream ${h.topo.streams.events}`);
  });

  test("--to a URL POSTs each event as JSON with its eventId, and stops with a clear error at an answer that is not 2xx", async () => {
    const received: { body: LifecycleEvent; key: string | null }[] = [];
    let failAt = 0;
    const peer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        received.push({ body: (await req.json()) as LifecycleEvent, key: req.headers.get("idempotency-key") });
        return new Response(received.length === failAt ? "full up" : "", { status: received.length === failAt ? 500 : 204 });
      },
    });
    try {
      const url = `http://127.0.0.1:${peer.port}/herald-events`;
      const ok = await herald("replay", "--since", a.toISOString(), "--until", b.toISOString(), "--to", url);
      expect(ok.code).toBe(0);
      const expected = stream.filter((m) => m.time >= a && m.time < b).map((m) => m.event);
      expect(received).toEqual(expected.map((e) => ({ body: e, key: e.eventId })));

      received.length = 0;
      failAt = 3;
      const failed = await herald("replay", "--since", "-10m", "--to", url);
      expect(failed.code).toBe(1);
      expect(received.length).toBe(3);
      expect(failed.stderr).toContain(`POST ${url} answered 500 for event ${stream[2]?.event.eventId}`);
      expect(failed.stderr).toContain("replayed 2 events");
    } finally {
      await peer.stop(true);
    }
  });

  test("refuses bad flags before connecting, naming them", async () => {
    for (const [flags, said] of [
      [["replay"], "--since is required"],
      [["replay", "--since", "yesterday"], "--since: an ISO 8601 time"],
      [["replay", "--since", "-1h", "--type", "processing"], "--type: one of"],
      [["replay", "--since", "-1h", "--to", "ftp://x"], "--to: stdout, nats:<subject> or an http(s):// URL"],
      [["replay", "--since", "-1h", "--until", "-2h"], "--until must be after --since"],
      [["rewind", "--since", "-1h"], 'unknown action "rewind"'],
    ] as const) {
      const { code, stderr } = await herald(...flags);
      expect({ flags, code, said: stderr.includes(said) }).toEqual({ flags, code: 78, said: true });
    }
  });
});
