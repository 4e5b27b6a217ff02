import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Sender } from "./channels/types.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

const BATCH_SIZE = 256;

let h: Harness;
/** Notification ids in the order their sends began, every lane together. */
const began: string[] = [];

/** `sender`, made slow by `ms` per send, like a sluggish provider, noting each send as it begins. */
function slow(sender: Sender, ms: number): Sender {
  return {
    provider: sender.provider,
    send: async (n, ctx) => {
      began.push(n.id);
      await Bun.sleep(ms);
      return sender.send(n, ctx);
    },
  };
}

beforeAll(async () => {
  h = await createHarness();
  const senders = testSenders();
  await h.start({ ...senders, in_app: slow(senders.in_app, 30) }, { batchSize: BATCH_SIZE, channelConcurrency: 16 });
});
afterAll(() => h.cleanup());

// How long an urgent one takes behind a full low lane is a figure for `npm run bench` (the isolation phase);
// here, the order of the sends: under load the time stretches while the order does not.
test("a backlog of 10,000 low messages does not delay urgent ones", async () => {
  const low = Array.from({ length: 10_000 }, () => envelope({ priority: "low" }));
  for (let i = 0; i < low.length; i += 1000) await Promise.all(low.slice(i, i + 1000).map((e) => h.publish(e)));
  // Let the low lane get busy: the first batch is in the senders' queue.
  await eventually(async () => (await h.row(low[0]?.id ?? ""))?.status === "sent", { timeoutMs: 10_000 });

  const overtaken: number[] = [];
  for (let i = 0; i < 5; i++) {
    const urgent = envelope({ priority: "urgent" });
    const from = began.length;
    await h.publish(urgent);
    await eventually(async () => (await h.row(urgent.id))?.status === "sent", { timeoutMs: 10_000, everyMs: 10, label: `urgent ${i} sent` });
    // Low sends that began between this one's publish and its own send.
    overtaken.push(began.indexOf(urgent.id, from) - from);
  }

  const jsm = await jetstreamManager(h.nc);
  const lowLane = await jsm.consumers.info(h.topo.streams.work, h.topo.laneConsumer("low"));
  expect(lowLane.num_pending + lowLane.num_ack_pending).toBeGreaterThan(5000); // the backlog is still there…
  // …and each urgent one went straight through. Queued behind it, one would wait for every low send the lane
  // holds in process (up to 4 batches; 700–1,000 with the channel's queue ignoring priority), then the
  // thousands in the stream; straight through, only the sends that begin while it is pulled and claimed
  // (0–61 on an idle and a CPU-loaded machine).
  expect(Math.max(...overtaken)).toBeLessThan(BATCH_SIZE);
}, 60_000);
