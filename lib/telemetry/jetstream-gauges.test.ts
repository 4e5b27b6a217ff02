import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { ensureStreams } from "../nats/streams.ts";
import { connectTestNats, deleteNamespaceStreams, testNamespace, topology } from "../../test/support/services.ts";
import { jetStreamGauges } from "./jetstream-gauges.ts";
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
