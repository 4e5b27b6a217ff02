import { ROOT_CONTEXT, type Tracer } from "@opentelemetry/api";
import type { Publisher } from "../lib/nats/work.ts";
import { NOOP_METRICS, secondsSince, type MetricsRecorder } from "../lib/telemetry/recorder.ts";
import { inSpan, sampledParent, SpanKind, SPANS } from "../lib/telemetry/spans.ts";

/**
 * Times every publish into `herald_jetstream_publish_duration_seconds{stream="work"}`
 * and runs it in a PRODUCER span under the request's; the publish window puts
 * that span's context into the message headers, so the processor's consume
 * span is its child. Returns `publisher` itself when there is nothing to record.
 */
export function instrumentPublisher(publisher: Publisher, metrics: MetricsRecorder, tracer: Tracer | undefined): Publisher {
  if (metrics === NOOP_METRICS && tracer === undefined) return publisher;
  // Timed with one callback pair, without timePublish's async frame and closure per message.
  const timed: Publisher["publish"] = (envelope, msgId, trace) => {
    const started = performance.now();
    return publisher.publish(envelope, msgId, trace).then(
      () => metrics.publishDuration("work", "ok", secondsSince(started)),
      (err: unknown) => {
        metrics.publishDuration("work", "error", secondsSince(started));
        throw err;
      },
    );
  };
  if (tracer === undefined) return { publish: timed };
  return {
    publish(envelope, msgId, trace = ROOT_CONTEXT) {
      // A dropped trace (9 in 10 at 0.1) takes the untraced path: its context still goes into the headers.
      if (!sampledParent(trace)) return timed(envelope, msgId, trace);
      const attributes = { "messaging.system": "nats", "herald.channel": envelope.channel, "herald.priority": envelope.priority };
      return inSpan(tracer, SPANS.publish, { kind: SpanKind.PRODUCER, attributes, parent: trace }, (_span, ctx) => timed(envelope, msgId, ctx));
    },
  };
}
