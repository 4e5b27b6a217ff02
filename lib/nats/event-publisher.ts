import type { Logger } from "pino";
import type { LifecycleEvent } from "../../schemas/events.ts";
import type { Topology } from "../../schemas/subjects.ts";
import { NOOP_METRICS, secondsSince, timePublish, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { AckPublisher } from "./ack-publisher.ts";

/**
 * Publishes lifecycle events concurrently and waits for all; each event's
 * `eventId` is its `Nats-Msg-Id`, so a copy within the duplicate window is
 * dropped. Events go out after their state is committed and before the work
 * message is settled: a failure is logged here, and the copy published when
 * the message comes back (processor/batch.ts) or by `herald events check
 * --repair` fills the gap.
 */
export async function publishEvents(
  publisher: AckPublisher,
  topo: Topology,
  events: LifecycleEvent[],
  log: Logger,
  metrics: MetricsRecorder = NOOP_METRICS,
): Promise<void> {
  if (events.length === 0) return;
  const started = performance.now();
  const report = await publisher.publishAll(events.map((ev) => ({ subject: topo.eventSubject(ev.type), data: JSON.stringify(ev), msgId: ev.eventId })));
  // One observation per batch's events (published together, acked together), not per event.
  metrics.publishDuration("events", report.failed > 0 ? "error" : "ok", secondsSince(started));
  if (report.failed > 0) log.warn({ failed: report.failed, err: report.firstError }, "could not publish some lifecycle events");
}

/** Publishes one event and resolves once stored; rejects when it was not. */
export function publishEvent(publisher: AckPublisher, topo: Topology, event: LifecycleEvent, metrics: MetricsRecorder = NOOP_METRICS): Promise<void> {
  return timePublish(metrics, "events", () => publisher.publish(topo.eventSubject(event.type), JSON.stringify(event), event.eventId));
}
