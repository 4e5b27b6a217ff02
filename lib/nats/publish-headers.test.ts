import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { headers as natsHeaders, Match, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { connectTestNats, testNamespace } from "../../test/support/services.ts";
import { PublishHeaders } from "./publish-headers.ts";

const MSG_ID = "0193a8f2-6c1e-7d4b-9a55-1f0c2e3d4b5a";
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

type Encodable = MsgHdrs & { encode(): Uint8Array };
const text = (h: MsgHdrs) => new TextDecoder().decode((h as Encodable).encode());

function both(fill: (h: MsgHdrs) => void): [string, string] {
  const ours = new PublishHeaders();
  const theirs = natsHeaders();
  fill(ours);
  fill(theirs);
  return [text(ours), text(theirs)];
}

describe("PublishHeaders", () => {
  test("encodes the same bytes as nats.js's headers for the gateway's headers", () => {
    const [ours, theirs] = both((h) => {
      h.set("Nats-Msg-Id", MSG_ID);
      h.set("traceparent", TRACEPARENT);
      h.set("tracestate", " vendor=value ");
    });
    expect(ours).toBe(theirs);
    expect(ours).toBe(`NATS/1.0\r\nNats-Msg-Id: ${MSG_ID}\r\ntraceparent: ${TRACEPARENT}\r\ntracestate: vendor=value\r\n\r\n`);
  });

  test("encodes what nats.js encodes when a key is set twice, appended to, deleted or matched case-insensitively", () => {
    const [ours, theirs] = both((h) => {
      h.set("Nats-Msg-Id", "first");
      h.append("X-Tag", "a");
      h.set("Nats-Msg-Id", "second");
      h.append("X-Tag", "b");
      h.set("x-tag", "c", Match.IgnoreCase);
      h.append("Gone", "1");
      h.delete("Gone");
    });
    expect(ours).toBe(theirs);
  });

  test("reads back what was set, as nats.js's headers do", () => {
    const h = new PublishHeaders();
    h.set("Nats-Msg-Id", MSG_ID);
    h.set("traceparent", TRACEPARENT);
    expect(h.get("Nats-Msg-Id")).toBe(MSG_ID);
    expect(h.get("nats-msg-id", Match.IgnoreCase)).toBe(MSG_ID);
    expect(h.has("traceparent")).toBe(true);
    expect(h.keys()).toEqual(["Nats-Msg-Id", "traceparent"]);
    expect([...h]).toEqual([
      ["Nats-Msg-Id", [MSG_ID]],
      ["traceparent", [TRACEPARENT]],
    ]);
    expect(h.code).toBe(0);
    expect(h.hasError).toBe(false);
  });

  test("refuses a value with a line break, as nats.js does, and keeps the headers it had", () => {
    const h = new PublishHeaders();
    h.set("Nats-Msg-Id", MSG_ID);
    expect(() => h.set("traceparent", "00-x\r\nInjected: 1")).toThrow("cannot contain");
    expect(() => natsHeaders().set("traceparent", "00-x\r\nInjected: 1")).toThrow();
    expect(text(h)).toBe(`NATS/1.0\r\nNats-Msg-Id: ${MSG_ID}\r\n\r\n`);
  });

  test("refuses a header name nats.js refuses", () => {
    expect(() => new PublishHeaders().set("bad name", "v")).toThrow();
    expect(() => natsHeaders().set("bad name", "v")).toThrow();
  });
});

describe("PublishHeaders through nats-server", () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectTestNats();
  });
  afterAll(async () => {
    await nc.close();
  });

  test("a subscriber receives every header as it was set", async () => {
    const subject = `${testNamespace()}.headers`;
    const sub = nc.subscribe(subject, { max: 1 });
    const h = new PublishHeaders();
    h.set("Nats-Msg-Id", MSG_ID);
    h.set("traceparent", TRACEPARENT);
    nc.publish(subject, new TextEncoder().encode("{}"), { headers: h });
    for await (const m of sub) {
      expect(m.headers?.get("Nats-Msg-Id")).toBe(MSG_ID);
      expect(m.headers?.get("traceparent")).toBe(TRACEPARENT);
      expect(m.headers?.keys()).toEqual(["Nats-Msg-Id", "traceparent"]);
      expect(m.string()).toBe("{}");
    }
  });
});
