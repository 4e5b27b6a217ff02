import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { NOOP_METRICS, secondsSince, timePublish, type MetricsRecorder } from "../bin/telemetry/recorder.ts";
import { CHANNELS, type Channel } from "../schemas/enums.ts";
import type { DeadLetterRecord } from "../schemas/dead-letter.ts";
import type { LifecycleEvent } from "../schemas/events.ts";
import type { Topology } from "../schemas/subjects.ts";
import type { AckedPublisher } from "./acked-publisher.ts";

/** A dead letter (schemas/dead-letter.ts). */
export type DlqRecord = DeadLetterRecord;

/** Publishes a dead letter and waits for the stream's ack; the msg id makes a replay of this step a no-op. */
export async function publishDeadLetter(js: JetStreamClient, subject: string, record: DlqRecord, msgId: string, metrics: MetricsRecorder = NOOP_METRICS): Promise<void> {
  await timePublish(metrics, "dlq", () => js.publish(subject, JSON.stringify(record), { msgID: msgId }));
}

/** `<ns>.v1.dlq.<channel>`; garbage whose channel is unknown goes to `<ns>.v1.dlq.invalid`. */
export function dlqSubjectFor(topo: Topology, workSubject: string): string {
  const token = workSubject.slice(workSubject.lastIndexOf(".") + 1);
  const channel = CHANNELS.find((c): c is Channel => c === token);
  return channel ? topo.dlqSubject(channel) : topo.wildcards.dlq.replace(/>$/, "invalid");
}


/**
 * Publishes lifecycle events concurrently and waits for all. Events are
 * informational and go out after the state is committed, so a failed publish is
 * logged, not retried: redelivering the work message would not re-send it anyway.
 */
export async function publishEvents(publisher: AckedPublisher, topo: Topology, events: LifecycleEvent[], log: Logger, metrics: MetricsRecorder = NOOP_METRICS): Promise<void> {
  if (events.length === 0) return;
  const started = performance.now();
  const report = await publisher.publishAll(
    events.map((ev) => ({ subject: topo.eventSubject(ev.type), data: JSON.stringify(ev), msgId: `${ev.id}:${ev.type}:${ev.attempt ?? 0}` })),
  );
  // One observation per batch's events (published together, acked together), not per event.
  metrics.publishDuration("events", report.failed > 0 ? "error" : "ok", secondsSince(started));
  if (report.failed > 0) log.warn({ failed: report.failed, err: report.firstError }, "could not publish some lifecycle events");
}
