import type { NatsConnection, Status } from "@nats-io/nats-core";
import type { MetricsRecorder } from "./recorder.ts";

/**
 * Keeps `herald_nats_connected` in step with the client's status events: 1
 * from the call (the connection is open), 0 on a disconnect, 1 again on a
 * reconnect, 0 once the connection closes. Resolves when it closes.
 */
export async function watchNatsConnection(nc: NatsConnection, metrics: MetricsRecorder): Promise<void> {
  metrics.natsConnected(!nc.isClosed());
  try {
    for await (const status of nc.status()) {
      const up = connectedAfter(status);
      if (up !== undefined) metrics.natsConnected(up);
    }
  } finally {
    metrics.natsConnected(false);
  }
}

/** Whether a status event leaves the connection up or down; `undefined` for events that change neither. */
export function connectedAfter(status: Status): boolean | undefined {
  switch (status.type) {
    case "disconnect":
    case "close":
      return false;
    case "reconnect":
      return true;
    // Still down while it retries; lame duck mode, pings and errors leave the connection as it is.
    case "reconnecting":
    case "update":
    case "ldm":
    case "error":
    case "ping":
    case "staleConnection":
    case "forceReconnect":
    case "slowConsumer":
      return undefined;
    default: {
      const never: never = status;
      return never;
    }
  }
}
