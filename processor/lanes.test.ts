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

test("a backlog of 10,000 low messages does not delay urgent ones", async () => {
  const low = Array.from({ length: 10_000 }, () => envelope({ priority: "low" }));
  for (let i = 0; i < low.length; i += 1000) await Promise.all(low.slice(i, i + 1000).map((e) => h.publish(e)));
  // Let the low lane get busy: the first batch is in the senders' queue.
  await eventually(async () => (await h.row(low[0]?.id ?? ""))?.status === "sent", { timeoutMs: 10_000 });

  const took: number[] = [];
  for (let i = 0; i < 5; i++) {
    const urgent = envelope({ priority: "urgent" });
    const started = Date.now();
    await h.publish(urgent);
    await eventually(async () => (await h.row(urgent.id))?.status === "sent", { timeoutMs: 5000, everyMs: 10 });
    took.push(Date.now() - started);
  }

  const jsm = await jetstreamManager(h.nc);
  const lowLane = await jsm.consumers.info(h.topo.streams.work, h.topo.laneConsumer("low"));
  expect(lowLane.num_pending + lowLane.num_ack_pending).toBeGreaterThan(5000); // the backlog is still there…
  expect(Math.max(...took)).toBeLessThan(1000); // …and each urgent one went straight through
}, 60_000);
