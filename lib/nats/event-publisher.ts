import type { Logger } from "pino";
import type { LifecycleEvent } from "../../schemas/events.ts";
import type { Topology } from "../../schemas/subjects.ts";
import { NOOP_METRICS, secondsSince, timePublish, type MetricsRecorder } from "../telemetry/recorder.ts";
import type { AckPublisher } from "./ack-publisher.ts";

/** An event's `Nats-Msg-Id`: one per notification, type and attempt, so a repeat within the window is dropped. */
export function eventMsgId(ev: Pick<LifecycleEvent, "id" | "type" | "attempt">): string {
  return `${ev.id}:${ev.type}:${ev.attempt ?? 0}`;
}

/**
 * Publishes lifecycle events concurrently and waits for all. Events are
 * informational and go out after the state is committed, so a failed publish is
 * logged, not retried: redelivering the work message would not re-send it anyway.
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
  const report = await publisher.publishAll(events.map((ev) => ({ subject: topo.eventSubject(ev.type), data: JSON.stringify(ev), msgId: eventMsgId(ev) })));
  // One observation per batch's events (published together, acked together), not per event.
  metrics.publishDuration("events", report.failed > 0 ? "error" : "ok", secondsSince(started));
  if (report.failed > 0) log.warn({ failed: report.failed, err: report.firstError }, "could not publish some lifecycle events");
}

/** Publishes one event and resolves once stored; rejects when it was not. */
export function publishEvent(publisher: AckPublisher, topo: Topology, event: LifecycleEvent, metrics: MetricsRecorder = NOOP_METRICS): Promise<void> {
  return timePublish(metrics, "events", () => publisher.publish(topo.eventSubject(event.type), JSON.stringify(event), eventMsgId(event)));
}
