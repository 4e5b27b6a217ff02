import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager, type PeerInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { ensureStreams } from "../nats/streams.ts";
import { connectTestNats, deleteNamespaceStreams, testNamespace, topology } from "../../test/support/services.ts";
import { jetStreamGauges, replicaCounts } from "./jetstream-gauges.ts";
import { createMetrics } from "./metrics.ts";

const topo = topology(testNamespace());
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectTestNats();
  await ensureStreams(nc, topo, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 123 });
});
afterAll(async () => {
  await deleteNamespaceStreams(nc, topo);
  await nc.close();
});

test("a scrape reads each lane's backlog and the dead letters per channel from the real JetStream", async () => {
  const js = jetstream(nc);
  for (let i = 0; i < 3; i++) await js.publish(topo.sendSubject("low", "sms"), "{}");
  await js.publish(topo.sendSubject("urgent", "email"), "{}");
  await js.publish(topo.dlqSubject("webhook"), "{}");
  await js.publish(topo.dlqSubject("webhook"), "{}");
  await js.publish(`${topo.namespace}.v1.dlq.invalid`, "{}");

  const m = createMetrics({ processMetrics: false });
  m.addCollector(jetStreamGauges(nc, topo, m));
  const text = await m.render();
  const line = (l: string) => text.split("\n").find((x) => x.startsWith(`${l} `));
  expect(line('herald_jetstream_consumer_pending{lane="low"}')).toEndWith(" 3");
  expect(line('herald_jetstream_consumer_pending{lane="urgent"}')).toEndWith(" 1");
  expect(line('herald_jetstream_consumer_pending{lane="normal"}')).toEndWith(" 0");
  expect(line('herald_jetstream_consumer_ack_pending{lane="low"}')).toEndWith(" 0");
  expect(line('herald_jetstream_consumer_max_ack_pending{lane="high"}')).toEndWith(" 123");
  expect(line('herald_dlq_messages{channel="webhook"}')).toEndWith(" 2");
  expect(line('herald_dlq_messages{channel="invalid"}')).toEndWith(" 1");
  expect(line('herald_dlq_messages{channel="email"}')).toEndWith(" 0");
});

test("a scrape reads each stream's replicas from the real server, which leads its only copy", async () => {
  const m = createMetrics({ processMetrics: false });
  m.addCollector(jetStreamGauges(nc, topo, m));
  const text = await m.render();
  const series = text.split("\n").filter((l) => l.startsWith("herald_jetstream_stream_replicas{"));
  expect(series.sort()).toEqual(
    ["work", "events", "dlq"]
      .flatMap((stream) => ["configured", "current"].map((state) => `herald_jetstream_stream_replicas{stream="${stream}",state="${state}"} 1`))
      .sort(),
  );
});

test("a stream whose info cannot be read loses its replica series, and the scrape still succeeds", async () => {
  const other = topology(testNamespace());
  await ensureStreams(nc, other, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 8 });
  const m = createMetrics({ processMetrics: false });
  const collect = jetStreamGauges(nc, other, m);
  await collect();
  await (await jetstreamManager(nc)).streams.delete(other.streams.events);
  await collect();
  const text = await m.render();
  await deleteNamespaceStreams(nc, other);
  const series = text.split("\n").filter((l) => l.startsWith("herald_jetstream_stream_replicas{"));
  expect(series).toContain('herald_jetstream_stream_replicas{stream="work",state="current"} 1');
  expect(series.filter((l) => l.includes('stream="events"'))).toEqual([]);
});

const peer = (name: string, current: boolean, offline = false): PeerInfo => ({ name, current, offline, active: 0, lag: 0 });

test("counts the leader and its current followers, and nothing without a leader", () => {
  const config = { num_replicas: 3 } as Parameters<typeof replicaCounts>[0]["config"];
  expect(replicaCounts({ config, cluster: { leader: "n0", replicas: [peer("n1", true), peer("n2", true)] } })).toEqual({ configured: 3, current: 3 });
  expect(replicaCounts({ config, cluster: { leader: "n0", replicas: [peer("n1", true), peer("n2", false)] } })).toEqual({ configured: 3, current: 2 });
  expect(replicaCounts({ config, cluster: { leader: "n0", replicas: [peer("n1", true), peer("n2", true, true)] } })).toEqual({ configured: 3, current: 2 });
  // A member answering without a leader lists itself and its peers, none current.
  expect(replicaCounts({ config, cluster: { replicas: [peer("n0", false), peer("n1", false), peer("n2", false)] } })).toEqual({ configured: 3, current: 0 });
  expect(replicaCounts({ config: { ...config, num_replicas: 1 }, cluster: undefined })).toEqual({ configured: 1, current: 1 });
});
