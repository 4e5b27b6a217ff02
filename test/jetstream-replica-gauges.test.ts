// herald_jetstream_stream_replicas against a real three-node cluster with R3 streams: what the
// replica alerts read when a node dies, when the streams lose their leader, and when NATS is gone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { ensureStreams } from "../lib/nats/streams.ts";
import { jetStreamGauges } from "../lib/telemetry/jetstream-gauges.ts";
import { createMetrics, type HeraldMetrics } from "../lib/telemetry/metrics.ts";
import { topology } from "../schemas/subjects.ts";
import { eventually } from "./support/eventually.ts";
import { startNatsCluster, type NatsCluster } from "./support/nats-cluster.ts";
import { testNamespace } from "./support/services.ts";

const topo = topology(testNamespace());
let cluster: NatsCluster;
let nc: NatsConnection;
let metrics: HeraldMetrics;

beforeAll(async () => {
  cluster = await startNatsCluster();
  nc = await cluster.connect();
  await ensureStreams(nc, topo, { duplicateWindowMs: 60_000, ackWaitMs: 30_000, maxAckPending: 64, replicas: 3 });
  // Stream info may wait out a leader election: give the collector longer than a scrape's default.
  metrics = createMetrics({ processMetrics: false, collectTimeoutMs: 6_000 });
  metrics.addCollector(jetStreamGauges(nc, topo, metrics));
}, 30_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** Each stream's `configured/current` after one scrape, e.g. `{ work: "3/3" }`; a stream without series is absent. */
async function replicas(): Promise<Record<string, string>> {
  const text = await metrics.render();
  const seen: Record<string, Record<string, string>> = {};
  for (const [, stream = "", state = "", value = ""] of text.matchAll(/^herald_jetstream_stream_replicas\{stream="(\w+)",state="(\w+)"\} (\S+)$/gm)) {
    seen[stream] = { ...seen[stream], [state]: value };
  }
  return Object.fromEntries(Object.entries(seen).map(([stream, s]) => [stream, `${s.configured}/${s.current}`]));
}

const until = (want: Record<string, string>, label: string) =>
  eventually(async () => Bun.deepEquals(await replicas(), want), { timeoutMs: 40_000, everyMs: 500, label });

test("counts every copy current, then one fewer while a follower is down, then none while no leader is left", async () => {
  await until({ work: "3/3", events: "3/3", dlq: "3/3" }, "every replica current");

  const leader = await cluster.leaderOf(topo.streams.work);
  const follower = leader === 0 ? 1 : 0;
  await cluster.kill(follower);
  // The leader marks a silent follower not current after its lost-quorum interval (10 s on 2.9).
  await eventually(async () => (await replicas()).work === "3/2", { timeoutMs: 40_000, everyMs: 500, label: "the work stream at 2 of 3" });

  await cluster.kill(leader);
  // The last node answers stream info itself, without a leader: nothing is current.
  await until({ work: "3/0", events: "3/0", dlq: "3/0" }, "every stream leaderless");

  await cluster.restart(follower);
  await cluster.restart(leader);
  await cluster.waitForMetaLeader();
  await until({ work: "3/3", events: "3/3", dlq: "3/3" }, "every replica current again");
}, 150_000);

test("drops the replica series, and the scrape still answers, while no node answers stream info", async () => {
  for (const i of [0, 1, 2]) await cluster.kill(i);
  await until({}, "no replica series without NATS");
  expect(await metrics.render()).toContain("herald_jetstream_consumer_pending");
}, 60_000);
