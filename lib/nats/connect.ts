import { wsconnect, type ConnectionOptions, type NatsConnection, type WsConnectionOptions } from "@nats-io/nats-core";

/** How every Herald process connects: named, and reconnecting for as long as it runs. */
export const CONNECTION_DEFAULTS = { name: "herald", maxReconnectAttempts: -1, reconnectTimeWait: 500 } as const;

/** `ws://` or `wss://`: NATS over its WebSocket listener; anything else is the TCP protocol. */
export function isWebSocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(url.trim());
}

/** How a runtime opens NATS's TCP protocol (`@nats-io/transport-node`'s `connect`); none where it has no sockets. */
export type TcpConnect = (opts: ConnectionOptions) => Promise<NatsConnection>;

/** A comma-separated `NATS_URL` names several servers of one cluster; the client tries them all and fails over between them. */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Connects over WebSocket for a `ws://`/`wss://` URL, else over TCP through
 * `tcp`. `url` may list several servers, comma-separated. `extra` carries a
 * runtime's `wsFactory` where it lacks a global `WebSocket` (Node 20).
 */
export async function connectNats(url: string, tcp: TcpConnect | undefined, extra: Partial<WsConnectionOptions> = {}): Promise<NatsConnection> {
  const opts: WsConnectionOptions = { servers: natsServers(url), ...CONNECTION_DEFAULTS, ...extra };
  if (isWebSocketUrl(url)) return wsconnect(opts);
  if (tcp === undefined) throw new Error(`NATS_URL must be ws:// or wss:// here: this runtime has no TCP sockets`);
  return tcp(opts);
}
