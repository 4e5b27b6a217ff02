import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { InboxFeedItem } from "../../schemas/inbox-feed.ts";
import type { Topology } from "../../schemas/subjects.ts";

/** The processor's side: one user's item, on core NATS (not a stream: Postgres is the record, a gateway replays from it). */
export interface InboxFeedPublisher {
  /** Hands the item to the connection; throws only when the connection is closed. */
  publish(tenant: string, userId: string, item: InboxFeedItem): void;
}

/** The gateway's side: one user's items as they are sent, for as long as the subscription lives. */
export interface InboxFeed {
  /** Resolves once the server has the subscription, so whatever is published after that reaches `onItem`. */
  subscribe(tenant: string, userId: string, onItem: (item: InboxFeedItem) => void): Promise<{ close(): void }>;
}

export function createInboxFeedPublisher(nc: NatsConnection, topo: Topology): InboxFeedPublisher {
  return {
    publish(tenant, userId, item) {
      nc.publish(topo.inboxSubject(tenant, userId), JSON.stringify(item));
    },
  };
}

/**
 * One subscription per open stream, on the user's own subject: the server
 * routes each item only to the gateways holding that user's streams, where a
 * wildcard would ship every tenant's inbox to every gateway to be thrown away.
 */
export function createInboxFeed(nc: NatsConnection, topo: Topology, log?: Pick<Logger, "warn">): InboxFeed {
  return {
    async subscribe(tenant, userId, onItem) {
      const sub: Subscription = nc.subscribe(topo.inboxSubject(tenant, userId), {
        callback(err, msg) {
          if (err) return log?.warn({ err }, "inbox feed subscription failed");
          const parsed = InboxFeedItem.safeParse(safeJson(msg.string()));
          if (parsed.success) onItem(parsed.data);
          else log?.warn({ subject: msg.subject }, "dropped an inbox feed message that is not an inbox item");
        },
      });
      // The round trip after SUB: a replay read after this cannot miss an item published meanwhile.
      await nc.flush().catch((err: unknown) => {
        sub.unsubscribe();
        throw err;
      });
      return { close: () => sub.unsubscribe() };
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
