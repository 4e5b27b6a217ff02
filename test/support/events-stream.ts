// An events stream of its own on the machine's NATS, for subscriber tests that publish events themselves.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ensureStreams } from "../../lib/nats/streams.ts";
import type { EventType } from "../../schemas/enums.ts";
import { lifecycleEvent, type LifecycleEvent } from "../../schemas/events.ts";
import { DEFAULT_STREAM_OPTIONS, type Topology } from "../../schemas/subjects.ts";
import { connectTestNats, deleteNamespaceStreams, testNamespace, topology } from "./services.ts";

export interface EventsStream {
  nc: NatsConnection;
  namespace: string;
  topo: Topology;
  /** Publishes an event on its type's subject with its eventId as Nats-Msg-Id (or `msgId`); resolves to its stream sequence. */
  publish(ev: LifecycleEvent, msgId?: string): Promise<number>;
  publishRaw(subject: string, data: string): Promise<number>;
  /** The events consumer's counts on the server. */
  consumerInfo(name: string): Promise<{ pending: number; ackPending: number; maxAckPending: number; filter: string }>;
  cleanup(): Promise<void>;
}

export async function createEventsStream(): Promise<EventsStream> {
  const namespace = testNamespace();
  const topo = topology(namespace);
  const nc = await connectTestNats();
  await ensureStreams(nc, topo, DEFAULT_STREAM_OPTIONS);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  return {
    nc,
    namespace,
    topo,
    async publish(ev, msgId = ev.eventId) {
      return (await js.publish(topo.eventSubject(ev.type), JSON.stringify(ev), { msgID: msgId })).seq;
    },
    async publishRaw(subject, data) {
      return (await js.publish(subject, data)).seq;
    },
    async consumerInfo(name) {
      const info = await jsm.consumers.info(topo.streams.events, name);
      return {
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        maxAckPending: info.config.max_ack_pending ?? -1,
        filter: info.config.filter_subject ?? "",
      };
    },
    async cleanup() {
      await deleteNamespaceStreams(nc, topo);
      await nc.close();
    },
  };
}

/** An event of notification `id` (a fresh one unless given), stamped `at` (now unless given). */
export function testEvent(type: EventType, over: { id?: string; at?: string; attempt?: number } = {}): LifecycleEvent {
  const subject = { id: over.id ?? crypto.randomUUID(), tenantId: "acme", userId: "u-1", channel: "in_app" as const };
  return lifecycleEvent(type, subject, { ...(over.at ? { at: over.at } : {}), ...(over.attempt ? { attempt: over.attempt } : {}) });
}
