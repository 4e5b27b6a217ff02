// The broker's ceiling on this box: how many acked JetStream publishes per
// second one connection gets with a window of N in flight, and, for contrast,
// awaiting each ack before the next publish. Same stream shape as Herald's
// (created by Herald's own ensureStreams: file storage, work-queue retention,
// lane consumers; Nats-Msg-Id on every message) in a namespace of its own,
// deleted afterwards. `npm run bench` runs it as its "limits" phase.
// Usage: bun bench/limits/jetstream-publish.ts [--window 256] [--seconds 10] [--serial-seconds 3] [--namespace X] [--nats URL]
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { parseArgs } from "node:util";
import { benchNamespace, createWorkStream, deleteNamespaceStreams } from "../lib/stream.ts";

const { values } = parseArgs({
  options: {
    window: { type: "string", default: "256" },
    seconds: { type: "string", default: "10" },
    "serial-seconds": { type: "string", default: "3" },
    namespace: { type: "string" },
    nats: { type: "string", default: process.env.NATS_URL ?? "nats://127.0.0.1:4222" },
  },
});
const window = Number(values.window);
const seconds = Number(values.seconds);
const serialSeconds = Number(values["serial-seconds"]);
const namespace = values.namespace ?? benchNamespace("bjs");
const subject = `${namespace}.v1.send.normal.in_app`;

// An envelope of the size the gateway publishes, so bytes per message match.
const payload = JSON.stringify({
  v: 1,
  id: "0199a3c2-5e1b-7c3d-9f00-123456789abc",
  tenantId: "acme",
  userId: "bench-user",
  channel: "in_app",
  type: "transactional",
  priority: "normal",
  payload: { title: "Bench", body: "Hello" },
  metadata: null,
  idempotencyKey: null,
  correlationId: null,
  scheduledFor: null,
  acceptedAt: new Date().toISOString(),
});

let seq = 0;
/** Publishes until the deadline with `inFlight` publishes outstanding at all times; returns acks received. */
async function publishFor(js: JetStreamClient, inFlight: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let acked = 0;
  // N loops each awaiting its own ack keep exactly N publishes in flight without a semaphore.
  const lane = async () => {
    while (performance.now() < deadline) {
      await js.publish(subject, payload, { msgID: `bench:${seq++}` });
      acked++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return acked;
}

const nc = await connect({ servers: values.nats });
const js = jetstream(nc);
try {
  const stream = await createWorkStream(nc, namespace);
  console.log(`stream ${stream} (file storage) on ${values.nats}`);
  await publishFor(js, window, 1_000); // warm-up: connection buffers, stream file, JIT

  let started = performance.now();
  const windowed = await publishFor(js, window, seconds * 1000);
  const windowedRps = windowed / ((performance.now() - started) / 1000);
  console.log(`window ${window}: ${windowed} acked in ${seconds} s → ${windowedRps.toFixed(0)} publishes/s`);

  started = performance.now();
  const serial = await publishFor(js, 1, serialSeconds * 1000);
  const serialRps = serial / ((performance.now() - started) / 1000);
  console.log(`one by one: ${serial} acked in ${serialSeconds} s → ${serialRps.toFixed(0)} publishes/s`);

  console.log(`RESULT ${JSON.stringify({ jetstream_publish_rps: Math.round(windowedRps), jetstream_serial_rps: Math.round(serialRps) })}`);
} finally {
  await deleteNamespaceStreams(nc, namespace);
  await nc.close();
}
