import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { topology } from "../../schemas/subjects.ts";

/** A short random namespace for one benchmark run, so runs never see each other's streams or keys. */
export function benchNamespace(prefix = "b"): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Creates the namespace's work stream (`<NS>` on `<ns>.v1.send.>`) on file
 * storage, as a deployment has it, so every system under test pays for the
 * same durable write and `Nats-Msg-Id` dedupe. Returns the stream name.
 */
export async function createWorkStream(nc: NatsConnection, namespace: string): Promise<string> {
  const topo = topology(namespace);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: topo.streams.work, subjects: [topo.wildcards.work], storage: StorageType.File });
  return topo.streams.work;
}

/** Messages the stream holds: what was really acked, whatever the HTTP side reported. */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(stream)).state.messages;
}

/** Deletes every stream of the namespace; absent ones are fine. */
export async function deleteNamespaceStreams(nc: NatsConnection, namespace: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of Object.values(topology(namespace).streams)) {
    await jsm.streams.delete(name).catch(() => false);
  }
}
