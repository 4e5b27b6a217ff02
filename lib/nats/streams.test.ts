import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { PRIORITIES } from "../../schemas/enums.ts";
import { connectTestNats, deleteNamespaceStreams, testNamespace, topology } from "../../test/support/services.ts";
import { ensureStreams } from "./streams.ts";

const topo = topology(testNamespace());
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectTestNats();
});
afterAll(async () => {
  await deleteNamespaceStreams(nc, topo);
  await nc.close();
});

test("ensureStreams creates 3 streams and 4 lane consumers, and a second run updates instead of failing", async () => {
  await ensureStreams(nc, topo, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100 });
  await ensureStreams(nc, topo, { duplicateWindowMs: 90_000, ackWaitMs: 20_000, maxAckPending: 200 });
  const jsm = await jetstreamManager(nc);
  const work = await jsm.streams.info(topo.streams.work);
  expect(work.config.subjects).toEqual([topo.wildcards.work]);
  expect(work.config.retention).toBe(RetentionPolicy.Workqueue);
  expect(work.config.duplicate_window).toBe(90_000 * 1e6);
  expect(work.config.num_replicas).toBe(1);
  expect((await jsm.streams.info(topo.streams.events)).config.subjects).toEqual([topo.wildcards.events, topo.wildcards.ops]);
  // The status-webhook fan-out: lifecycle events only, not the ops events beside them.
  const fanOut = await jsm.consumers.info(topo.streams.events, topo.statusWebhooksConsumer);
  expect(fanOut.config.filter_subject).toBe(topo.wildcards.events);
  expect(fanOut.config.max_ack_pending).toBe(200);
  expect((await jsm.streams.info(topo.streams.dlq)).config.max_age).toBe(14 * 24 * 3600 * 1e9);
  for (const p of PRIORITIES) {
    const c = await jsm.consumers.info(topo.streams.work, topo.laneConsumer(p));
    expect(c.config.filter_subject).toBe(topo.laneFilter(p));
    expect(c.config.ack_wait).toBe(20_000 * 1e6);
    expect(c.config.max_ack_pending).toBe(200);
    expect(c.config.max_deliver).toBe(-1);
  }
});

test("ensureStreams asks for the configured replicas: a single server refuses 3 with NATS's reason, and nothing is half made", async () => {
  const other = topology(testNamespace());
  try {
    const err = await ensureStreams(nc, other, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100, replicas: 3 }).then(
      () => new Error("expected a refusal"),
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/replicas > 1 not supported in non-clustered mode/i);
    const jsm = await jetstreamManager(nc);
    expect(
      await jsm.streams.info(other.streams.work).then(
        () => "exists",
        () => "absent",
      ),
    ).toBe("absent");
  } finally {
    await deleteNamespaceStreams(nc, other);
  }
});

test("ensureStreams keeps dead letters for the configured days, and a later run changes it on the live stream", async () => {
  const other = topology(testNamespace());
  try {
    await ensureStreams(nc, other, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100, dlqMaxAgeDays: 30 });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(other.streams.dlq)).config.max_age).toBe(30 * 24 * 3600 * 1e9);
    await ensureStreams(nc, other, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 100, dlqMaxAgeDays: 3 });
    expect((await jsm.streams.info(other.streams.dlq)).config.max_age).toBe(3 * 24 * 3600 * 1e9);
    expect((await jsm.streams.info(other.streams.events)).config.max_age).toBe(7 * 24 * 3600 * 1e9);
  } finally {
    await deleteNamespaceStreams(nc, other);
  }
});
