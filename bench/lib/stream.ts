import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ensureStreams } from "../../lib/nats/streams.ts";
import { DEFAULT_STREAM_OPTIONS } from "../../schemas/subjects.ts";
import { PRIORITIES } from "../../schemas/enums.ts";
import { topology } from "../../schemas/subjects.ts";

/** A short random namespace for one benchmark run, so runs never see each other's streams or keys. */
export function benchNamespace(prefix = "b"): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Creates the namespace's streams and lane consumers exactly as a Herald
 * process does at start-up (the same `ensureStreams`, with Herald's default
 * duplicate window, ack wait and max ack pending), so a peer or the publish
 * ceiling writes into a work stream of the same shape as Herald's: file
 * storage, work-queue retention, `Nats-Msg-Id` dedupe, four filtered
 * consumers. Returns the work stream's name.
 */
export async function createWorkStream(nc: NatsConnection, namespace: string): Promise<string> {
  const topo = topology(namespace);
  await ensureStreams(nc, topo, DEFAULT_STREAM_OPTIONS);
  return topo.streams.work;
}

/** Messages the stream holds: what was really acked, whatever the HTTP side reported. */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(stream)).state.messages;
}

/**
 * Empties a stream between phases, so each phase starts from the same state
 * and its count is its own. Waits first until the count stops moving: when
 * autocannon stops, the server may still be publishing requests that were in
 * flight (a whole batch), and those must not leak into the next phase.
 */
export async function purgeStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let last = -1;
  for (let stable = 0, tries = 0; stable < 2 && tries < 40; tries++) {
    const now = (await jsm.streams.info(stream)).state.messages;
    stable = now === last ? stable + 1 : 0;
    last = now;
    await Bun.sleep(250);
  }
  await jsm.streams.purge(stream);
}

/** Unprocessed work of a namespace: messages not yet delivered plus delivered but not acked, over every lane. */
export async function laneBacklog(nc: NatsConnection, namespace: string): Promise<{ pending: number; ackPending: number }> {
  const topo = topology(namespace);
  const jsm = await jetstreamManager(nc);
  let pending = 0;
  let ackPending = 0;
  for (const priority of PRIORITIES) {
    const info = await jsm.consumers.info(topo.streams.work, topo.laneConsumer(priority));
    pending += info.num_pending;
    ackPending += info.num_ack_pending;
  }
  return { pending, ackPending };
}

/** Deletes every stream of the namespace; absent ones are fine. */
export async function deleteNamespaceStreams(nc: NatsConnection, namespace: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of Object.values(topology(namespace).streams)) {
    await jsm.streams.delete(name).catch(() => false);
  }
}
