import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectTestNats, testNamespace } from "../test/support/services.ts";
import { createAckedPublisher } from "./acked-publisher.ts";

let nc: NatsConnection;
const ns = testNamespace();
const stream = ns.toUpperCase();

beforeAll(async () => {
  nc = await connectTestNats();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${ns}.acked.>`] });
});
afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => false);
  await nc.close();
});

describe("acked publisher", () => {
  test("resolves once the stream has acked every message; a replayed msg id is acked and stored once", async () => {
    const publisher = createAckedPublisher(nc, { timeoutMs: 2000 });
    const messages = Array.from({ length: 300 }, (_, i) => ({ subject: `${ns}.acked.a`, data: JSON.stringify({ i }), msgId: `a-${i}` }));
    expect(await publisher.publishAll(messages)).toEqual({ failed: 0 });
    expect(await publisher.publishAll(messages.slice(0, 10))).toEqual({ failed: 0 });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.messages).toBe(300);
    const first = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(first?.json()).toEqual({ i: 0 });
    expect(first?.header.get("Nats-Msg-Id")).toBe("a-0");
    publisher.close();
  });

  test("reports a message no stream listens for as failed", async () => {
    const publisher = createAckedPublisher(nc, { timeoutMs: 2000 });
    const report = await publisher.publishAll([
      { subject: `${ns}.acked.b`, data: "{}", msgId: "b-1" },
      { subject: `${ns}.nowhere`, data: "{}", msgId: "b-2" },
    ]);
    expect(report.failed).toBe(1);
    expect(report.firstError).toContain("no responders");
    publisher.close();
  });

  test("reports messages nobody acks within the timeout as failed", async () => {
    const silent = nc.subscribe(`${ns}.silent`, { callback: () => {} });
    const publisher = createAckedPublisher(nc, { timeoutMs: 100 });
    const report = await publisher.publishAll([{ subject: `${ns}.silent`, data: "{}", msgId: "c-1" }]);
    expect(report).toEqual({ failed: 1, firstError: "no ack within 100 ms" });
    silent.unsubscribe();
    publisher.close();
  });
});
