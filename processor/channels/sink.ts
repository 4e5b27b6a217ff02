import type { Channel } from "../../schemas/enums.ts";
import type { OutboundNotification, Sender } from "./types.ts";

/** What the sink would have sent. */
export interface SinkEntry {
  channel: Channel;
  id: string;
  tenantId: string;
  userId: string;
  payload: Record<string, unknown>;
  attempt: number;
  at: Date;
}

/** A bounded in-memory record of sink deliveries, for tests and the dev console. */
export interface SinkRecorder {
  record(entry: SinkEntry): void;
  /** Oldest first; at most `capacity` entries. */
  entries(): SinkEntry[];
}

/** A ring buffer: memory stays bounded however long the process runs. */
export function createSinkRecorder(capacity = 1000): SinkRecorder {
  const ring: SinkEntry[] = [];
  let next = 0;
  return {
    record(entry) {
      if (ring.length < capacity) ring.push(entry);
      else ring[next] = entry;
      next = (next + 1) % capacity;
    },
    entries() {
      return ring.length < capacity ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)];
    },
  };
}

/**
 * The `sink` provider: accepts everything and delivers nothing. It stands in
 * for email, SMS and push when their provider is not configured, and says so
 * in its provider name (recorded on every delivery attempt).
 */
export function createSinkSender(channel: Channel, recorder?: SinkRecorder): Sender {
  return {
    provider: "sink",
    async send(n: OutboundNotification, ctx) {
      recorder?.record({ channel, id: n.id, tenantId: n.tenantId, userId: n.userId, payload: n.payload, attempt: ctx.attempt, at: new Date() });
      return {};
    },
  };
}
