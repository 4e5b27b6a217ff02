import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Envelope } from "./envelope.ts";
import { eventContracts, render } from "./export-json-schema.ts";
import { z } from "zod";
import { HTTP_URL_PATTERN, NotificationRequest, WebhookPayload } from "./request.ts";
import { topology } from "./subjects.ts";

const parse = (body: unknown) => NotificationRequest.safeParse(body);
const paths = (body: unknown) => {
  const r = parse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
};

describe("NotificationRequest", () => {
  test("fills type and priority defaults", () => {
    const r = parse({ userId: "u", channel: "in_app", payload: { title: "t", body: "b" } });
    expect(r.success && r.data.type).toBe("transactional");
    expect(r.success && r.data.priority).toBe("normal");
  });

  test("points at the payload field of the chosen channel", () => {
    expect(paths({ userId: "u", channel: "email", payload: { to: "not-an-email", subject: "s", body: "b" } })).toEqual(["payload.to"]);
    expect(paths({ userId: "u", channel: "sms", payload: { to: "0044 123", body: "b" } })).toEqual(["payload.to"]);
    expect(paths({ userId: "u", channel: "webhook", payload: { url: "ftp://x.example", body: {} } })).toEqual(["payload.url"]);
  });

  test("rejects an unknown channel at the discriminator", () => {
    expect(paths({ userId: "u", channel: "pigeon", payload: {} })).toEqual(["channel"]);
  });

  test("rejects unknown fields instead of dropping them silently", () => {
    expect(paths({ userId: "u", channel: "in_app", payload: { title: "t", body: "b" }, extra: 1 })).toContain("");
  });

  test("the webhook URL's JSON Schema pattern accepts what zod accepts", () => {
    const url = WebhookPayload.shape.url;
    const pattern = new RegExp(HTTP_URL_PATTERN);
    const urls = [
      "https://hooks.example.com/in",
      "http://localhost:8080/hook?x=1#f",
      "HTTPS://Example.COM",
      "https://user:pass@a.example:443/p",
      "https://1.2.3.4/",
      "https://example.com.",
      "https://a-b.example/",
      "ftp://x.example",
      "https://[::1]/",
      "https://a..b/",
      "https://-a.example/",
      "https://a_b.example/",
      "https:/missing.example",
      "hooks.example.com",
      "https://exa mple.com/",
      "https://",
    ];
    for (const u of urls) expect([u, pattern.test(u)]).toEqual([u, url.safeParse(u).success]);
    expect(JSON.stringify(z.toJSONSchema(WebhookPayload))).toContain(JSON.stringify(HTTP_URL_PATTERN));
  });

  test("requires an offset on scheduledFor", () => {
    expect(paths({ userId: "u", channel: "in_app", payload: { title: "t", body: "b" }, scheduledFor: "2026-11-23 10:00" })).toEqual(["scheduledFor"]);
  });
});

describe("event contracts", () => {
  test("the committed JSON Schema files match the zod schemas", () => {
    for (const [name, doc] of Object.entries(eventContracts())) {
      const committed = readFileSync(new URL(`./json/${name}`, import.meta.url), "utf8");
      expect(committed).toBe(render(doc));
    }
  });

  test("an envelope without a version is refused", () => {
    expect(Envelope.safeParse({ id: crypto.randomUUID() }).success).toBe(false);
  });
});

describe("topology", () => {
  test("prefixes every stream, subject and consumer with the namespace", () => {
    const t = topology("acme-1");
    expect(t.streams).toEqual({ work: "ACME_1", events: "ACME_1_EVENTS", dlq: "ACME_1_DLQ" });
    expect(t.sendSubject("urgent", "sms")).toBe("acme-1.v1.send.urgent.sms");
    expect(t.laneConsumer("low")).toBe("ACME_1_lane_low");
  });

  test("refuses a namespace that would break subject syntax", () => {
    expect(() => topology("a.b")).toThrow();
  });
});
