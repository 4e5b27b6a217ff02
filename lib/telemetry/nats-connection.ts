import type { NatsConnection, Status } from "@nats-io/nats-core";
import type { MetricsRecorder } from "./recorder.ts";

/** Where the drop and the return are written: the process's logger. */
export interface ConnectionLog {
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
}

/**
 * Keeps `herald_nats_connected` in step with the client's status events: 1
 * from the call (the connection is open), 0 on a disconnect, 1 again on a
 * reconnect, 0 once the connection closes. Writes a line when the connection
 * drops and when it is back (with how long it was down), so the logs say what
 * the gauge says. Resolves when it closes.
 */
export async function watchNatsConnection(nc: NatsConnection, metrics: MetricsRecorder, log?: ConnectionLog): Promise<void> {
  metrics.natsConnected(!nc.isClosed());
  let downSince: number | null = null;
  try {
    for await (const status of nc.status()) {
      const up = connectedAfter(status);
      if (up === undefined) continue;
      metrics.natsConnected(up);
      const server = "server" in status ? status.server : undefined;
      if (!up && status.type === "disconnect" && downSince === null) {
        downSince = Date.now();
        log?.warn({ server }, "NATS connection lost; reconnecting");
      } else if (up && downSince !== null) {
        log?.info({ server, downMs: Date.now() - downSince }, "NATS connection back");
        downSince = null;
      }
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
