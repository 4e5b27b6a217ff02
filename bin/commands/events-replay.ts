import { headers, type NatsConnection } from "@nats-io/nats-core";
import { eventStreamBounds, readEvents, type ReadProgress } from "../../lib/nats/event-reader.ts";
import { ConfigError } from "../../schemas/config.ts";
import type { LifecycleEvent } from "../../schemas/events.ts";
import type { Topology } from "../../schemas/subjects.ts";
import type { EventsAction, ReplayTarget } from "./events-flags.ts";
import { ownSubject } from "./events-flags.ts";

type Replay = Extract<EventsAction, { kind: "replay" }>;

/** Takes the window's events one by one, in stream order; `close` flushes what it holds. */
interface Sink {
  send(event: LifecycleEvent, seq: number): Promise<void>;
  close(): Promise<void>;
}

/** The outcome of a replay, for its one-line summary. */
export interface ReplaySummary {
  sent: number;
  invalid: number;
  scanned: number;
  first: Date | null;
  last: Date | null;
}

/** A replay that stopped because its target refused an event: the summary of what went before it. */
export class ReplayRefused extends Error {
  constructor(
    message: string,
    readonly summary: ReplaySummary,
  ) {
    super(message);
  }
}

/**
 * `herald events replay`: the events whose stream time is in the window, in
 * stream order, to stdout (NDJSON), a NATS subject or an HTTP endpoint.
 * Messages that are not events are named on stderr and skipped.
 */
export async function replayEvents(nc: NatsConnection, topo: Topology, action: Replay): Promise<ReplaySummary> {
  if (action.to.kind === "nats") {
    const stream = ownSubject(action.to.subject, topo);
    if (stream !== undefined) throw new ConfigError(["events"], `--to nats:${action.to.subject} is stored by the stream ${stream}: pick a subject outside it`);
  }
  await eventStreamBounds(nc, topo).catch((err: unknown) => {
    throw new ConfigError(
      ["events"],
      `cannot read the events stream ${topo.streams.events} (${err instanceof Error ? err.message : String(err)}); run \`herald migrate\` first`,
    );
  });
  const sink = sinkFor(nc, action.to);
  const progress: ReadProgress = { scanned: 0, nextSeq: 0 };
  const summary: ReplaySummary = { sent: 0, invalid: 0, scanned: 0, first: null, last: null };
  const { since, until, types, tenant } = action;
  try {
    for await (const read of readEvents(
      nc,
      topo,
      { since, ...(until ? { until } : {}), ...(types ? { types } : {}), ...(tenant ? { tenant } : {}) },
      progress,
    )) {
      if (read.kind === "invalid") {
        summary.invalid++;
        console.error(`skipped message ${read.seq} on ${read.subject} (${read.time.toISOString()}): ${read.error}`);
        continue;
      }
      try {
        await sink.send(read.event, read.seq);
      } catch (err) {
        summary.scanned = progress.scanned;
        throw new ReplayRefused(err instanceof Error ? err.message : String(err), summary);
      }
      summary.sent++;
      summary.first ??= read.time;
      summary.last = read.time;
    }
  } finally {
    await sink.close();
  }
  summary.scanned = progress.scanned;
  return summary;
}

/** `replayed 12 events (2026-12-07T10:00:00.000Z … 2026-12-07T10:05:00.000Z) to stdout; 40 messages read, 0 not events`. */
export function summaryLine(s: ReplaySummary, to: ReplayTarget): string {
  const where = to.kind === "stdout" ? "stdout" : to.kind === "nats" ? `nats:${to.subject}` : to.url;
  const span = s.first && s.last ? ` (${s.first.toISOString()} … ${s.last.toISOString()})` : "";
  return `replayed ${s.sent} event${s.sent === 1 ? "" : "s"}${span} to ${where}; ${s.scanned} messages read, ${s.invalid} not events`;
}

function sinkFor(nc: NatsConnection, to: ReplayTarget): Sink {
  switch (to.kind) {
    case "stdout":
      return stdoutSink();
    case "nats":
      return natsSink(nc, to.subject);
    case "http":
      return httpSink(to.url, to.timeoutMs);
    default:
      return to satisfies never;
  }
}

/** Lines in chunks, each written before the next is taken: a slow reader of the pipe slows the read, nothing piles up. */
function stdoutSink(): Sink {
  let chunk = "";
  const flush = async () => {
    if (chunk === "") return;
    const text = chunk;
    chunk = "";
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
  };
  return {
    async send(event) {
      chunk += `${JSON.stringify(event)}\n`;
      if (chunk.length >= 64 * 1024) await flush();
    },
    close: flush,
  };
}

/** Core NATS, with the eventId as Nats-Msg-Id, so a stream on the subject drops a copy as the events stream would. */
function natsSink(nc: NatsConnection, subject: string): Sink {
  let since = 0;
  return {
    async send(event) {
      const h = headers();
      h.set("Nats-Msg-Id", event.eventId);
      nc.publish(subject, JSON.stringify(event), { headers: h });
      // A flush now and then: the server has taken what went before, and the client's buffer stays small.
      if (++since >= 1024) {
        since = 0;
        await nc.flush();
      }
    },
    close: () => nc.flush(),
  };
}

/** One POST per event, in order, with the eventId as `Idempotency-Key`; anything but a 2xx in time stops the replay. */
function httpSink(url: string, timeoutMs: number): Sink {
  return {
    async send(event, seq) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": event.eventId },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const why = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
        throw new Error(`POST ${url} failed for event ${event.eventId} (stream sequence ${seq}): ${why}`);
      }
      // Read either way, so the connection can be reused.
      const body = await res.text().catch(() => "");
      if (!res.ok) throw new Error(`POST ${url} answered ${res.status} for event ${event.eventId} (stream sequence ${seq}): ${body.slice(0, 200)}`);
    },
    close: async () => {},
  };
}
