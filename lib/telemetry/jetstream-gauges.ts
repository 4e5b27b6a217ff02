import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { CHANNELS, PRIORITIES } from "../../schemas/enums.ts";
import type { Topology } from "../../schemas/subjects.ts";
import type { MetricChannel, MetricsRecorder } from "./recorder.ts";

const DLQ_CHANNELS: readonly MetricChannel[] = [...CHANNELS, "invalid"];

/**
 * A scrape-time collector for the JetStream gauges: each lane consumer's
 * pending / ack pending / redelivered / max_ack_pending, and the dead letters
 * held per channel subject. Read when Prometheus asks (a few cheap info
 * requests every 15 s) rather than polled, so an idle process makes no calls.
 * Pass it to `HeraldMetrics.addCollector`.
 */
export function jetStreamGauges(nc: NatsConnection, topo: Topology, metrics: MetricsRecorder): () => Promise<void> {
  let jsm: JetStreamManager | undefined;
  const prefix = topo.dlqSubject("email").slice(0, -"email".length);
  return async function collectJetStream() {
    jsm ??= await jetstreamManager(nc);
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
    const dlq = manager.streams.info(topo.streams.dlq, { subjects_filter: topo.wildcards.dlq }).then((info) => {
      const held = info.state.subjects ?? {};
      for (const channel of DLQ_CHANNELS) metrics.dlqMessages(channel, held[prefix + channel] ?? 0);
    });
    await Promise.all([...lanes, dlq]);
  };
}
