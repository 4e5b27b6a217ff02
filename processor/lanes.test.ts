import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Sender } from "./channels/types.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

let h: Harness;

/** `sender`, made slow by `ms` per send, like a sluggish provider. */
function slow(sender: Sender, ms: number): Sender {
  return {
    provider: sender.provider,
    send: async (n, ctx) => {
      await Bun.sleep(ms);
      return sender.send(n, ctx);
    },
  };
}

beforeAll(async () => {
  h = await createHarness();
  const senders = testSenders();
  await h.start({ ...senders, in_app: slow(senders.in_app, 30) }, { batchSize: 256, channelConcurrency: 16 });
});
afterAll(() => h.cleanup());

test("a backlog of 2,000 low messages does not delay an urgent one", async () => {
  const low = Array.from({ length: 2000 }, () => envelope({ priority: "low" }));
  for (let i = 0; i < low.length; i += 500) await Promise.all(low.slice(i, i + 500).map((e) => h.publish(e)));
  // Let the low lane get busy: the first batch is in the senders' queue.
  await eventually(async () => (await h.row(low[0]?.id ?? ""))?.status === "sent");

  const urgent = envelope({ priority: "urgent" });
  const started = Date.now();
  await h.publish(urgent);
  await eventually(async () => (await h.row(urgent.id))?.status === "sent", { timeoutMs: 5000, everyMs: 10 });
  const took = Date.now() - started;

  const jsm = await jetstreamManager(h.nc);
  const lowLane = await jsm.consumers.info(h.topo.streams.work, h.topo.laneConsumer("low"));
  expect(lowLane.num_pending + lowLane.num_ack_pending).toBeGreaterThan(1000); // the backlog is still there…
  expect(took).toBeLessThan(1000); // …and urgent went straight through
});
