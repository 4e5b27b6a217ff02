import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DiscardPolicy } from "@nats-io/jetstream";
import { AckError, createAckPublisher } from "./ack-publisher.ts";
import { createStreamFixture, type StreamFixture } from "../../test/support/gateway-fixture.ts";

let f: StreamFixture;
beforeAll(async () => {
  f = await createStreamFixture();
});
afterAll(async () => {
  await f.cleanup();
});

const data = new TextEncoder().encode('{"v":1}');

describe("createAckPublisher", () => {
  test("queues publishes beyond the window and acks every one of them", async () => {
    const window = createAckPublisher(f.nc, { timeoutMs: 2_000, maxInFlight: 8 });
    const before = await f.count();
    const subject = f.topo.sendSubject("normal", "in_app");
    await Promise.all(Array.from({ length: 200 }, (_, i) => window.publish(subject, data, `window-${i}`)));
    expect(await f.count()).toBe(before + 200);
  });

  test("stores a message once when the same Nats-Msg-Id is published twice", async () => {
    const window = createAckPublisher(f.nc, { timeoutMs: 2_000, maxInFlight: 8 });
    const before = await f.count();
    const subject = f.topo.sendSubject("normal", "in_app");
    await window.publish(subject, data, "same-id");
    await window.publish(subject, data, "same-id");
    expect(await f.count()).toBe(before + 1);
  });

  test("fails only the publish whose message id cannot be a header value", async () => {
    const window = createAckPublisher(f.nc, { timeoutMs: 2_000, maxInFlight: 8 });
    const before = await f.count();
    const subject = f.topo.sendSubject("normal", "in_app");
    const [bad, good] = await Promise.allSettled([window.publish(subject, data, "bad\r\nid"), window.publish(subject, data, "good-id")]);
    expect(bad.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
    expect(await f.count()).toBe(before + 1);
  });

  test("rejects with the server's reason when the stream refuses the message", async () => {
    const name = `${f.topo.streams.work}_FULL`;
    const subject = `${f.topo.namespace}.full`;
    await f.jsm.streams.add({ name, subjects: [subject], max_msgs: 1, discard: DiscardPolicy.New });
    const window = createAckPublisher(f.nc, { timeoutMs: 2_000, maxInFlight: 8 });
    await window.publish(subject, data, "full-1");
    const err = await window.publish(subject, data, "full-2").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AckError);
    expect((err as Error).message).toContain("maximum messages exceeded");
    await f.jsm.streams.delete(name);
  });
});
