import { jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { CHANNELS, PRIORITIES } from "../../schemas/enums.ts";
import type { Topology } from "../../schemas/subjects.ts";
import type { MetricChannel, MetricsRecorder, StreamKind, StreamReplicaState } from "./recorder.ts";

const DLQ_CHANNELS: readonly MetricChannel[] = [...CHANNELS, "invalid"];
const STREAM_KINDS: readonly StreamKind[] = ["work", "events", "dlq"];

/**
 * A scrape-time collector for the JetStream gauges: each lane consumer's
 * pending / ack pending / redelivered / max_ack_pending, the dead letters
 * held per channel subject, and each stream's configured and current
 * replicas. Read when Prometheus asks (a few cheap info requests every 15 s)
 * rather than polled, so an idle process makes no calls. Pass it to
 * `HeraldMetrics.addCollector`.
 *
 * A stream whose info cannot be read loses its replica series for that scrape
 * instead of failing it; the consumer and dead-letter reads still reject, so
 * the scrape's caller hears about them.
 */
export function jetStreamGauges(nc: NatsConnection, topo: Topology, metrics: MetricsRecorder): () => Promise<void> {
  let jsm: JetStreamManager | undefined;
  const prefix = topo.dlqSubject("email").slice(0, -"email".length);
  return async function collectJetStream() {
    try {
      jsm ??= await jetstreamManager(nc);
    } catch (err) {
      for (const kind of STREAM_KINDS) metrics.streamReplicas(kind, undefined);
      throw err;
    }
    const manager = jsm;
    const lanes = PRIORITIES.map(async (lane) => {
      const info = await manager.consumers.info(topo.streams.work, topo.laneConsumer(lane));
      metrics.consumer(lane, {
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
        maxAckPending: info.config.max_ack_pending ?? 0,
      });
    });
    const dlqInfo = manager.streams.info(topo.streams.dlq, { subjects_filter: topo.wildcards.dlq });
    const dlq = dlqInfo.then((info) => {
      const held = info.state.subjects ?? {};
      for (const channel of DLQ_CHANNELS) metrics.dlqMessages(channel, held[prefix + channel] ?? 0);
    });
    const replicas = (kind: StreamKind, info: Promise<StreamInfo>) =>
      info.then(
        (i) => metrics.streamReplicas(kind, replicaCounts(i)),
        () => metrics.streamReplicas(kind, undefined),
      );
    await Promise.all([
      ...lanes,
      dlq,
      replicas("work", manager.streams.info(topo.streams.work)),
      replicas("events", manager.streams.info(topo.streams.events)),
      replicas("dlq", dlqInfo),
    ]);
  };
}

/**
 * A stream's configured copies, and those current: the leader plus the
 * followers it reports current. Without a leader nothing is current, whatever
 * the member that answered says of its peers. A server that is not clustered
 * reports no cluster: it is the stream's only copy, and leads it.
 */
export function replicaCounts(info: Pick<StreamInfo, "config" | "cluster">): Record<StreamReplicaState, number> {
  const configured = info.config.num_replicas || 1;
  const cluster = info.cluster;
  if (cluster === undefined) return { configured, current: configured };
  const leader = cluster.leader;
  if (!leader) return { configured, current: 0 };
  const followers = (cluster.replicas ?? []).filter((r) => r.name !== leader && r.current && !r.offline).length;
  return { configured, current: 1 + followers };
}
