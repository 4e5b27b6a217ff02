import { describe, expect, test } from "bun:test";
import { readResend, readTwilio, ResendEvent } from "./readings.ts";

const now = new Date("2026-12-08T12:00:00Z");

describe("readTwilio", () => {
  test("delivered is a delivery; undelivered and failed are bounces with the error code, or the status without one", () => {
    const form = (fields: Record<string, string>) => new URLSearchParams({ MessageSid: "SM1", ...fields });
    expect(readTwilio(form({ MessageStatus: "delivered" }), now)).toEqual({
      kind: "report",
      report: { provider: "twilio", providerMessageId: "SM1", status: "delivered", reason: null, at: now },
    });
    expect(readTwilio(form({ MessageStatus: "undelivered", ErrorCode: "30003" }), now)).toMatchObject({
      report: { status: "bounced", reason: "twilio 30003" },
    });
    expect(readTwilio(form({ MessageStatus: "failed" }), now)).toMatchObject({ report: { status: "bounced", reason: "twilio failed" } });
  });

  test("reads the older SmsSid and SmsStatus names too, and ignores a callback without a sid", () => {
    expect(readTwilio(new URLSearchParams({ SmsSid: "SM2", SmsStatus: "delivered" }), now)).toMatchObject({ report: { providerMessageId: "SM2" } });
    expect(readTwilio(new URLSearchParams({ MessageStatus: "delivered" }), now)).toEqual({ kind: "ignored", detail: "The callback names no MessageSid" });
  });
});

describe("readResend", () => {
  const parse = (event: unknown) => ResendEvent.parse(event);

  test("a bounce's reason names its type, subtype and message, as far as Resend gave them", () => {
    const bounced = (bounce: unknown) => readResend(parse({ type: "email.bounced", data: { email_id: "e-1", bounce } }), now);
    expect(bounced({ type: "Permanent", subType: "Suppressed", message: "on the suppression list" })).toMatchObject({
      report: { status: "bounced", reason: "resend bounce Permanent/Suppressed: on the suppression list" },
      suppress: { source: "bounce", reason: "resend bounce Permanent/Suppressed: on the suppression list" },
    });
    expect(bounced(undefined)).toMatchObject({ report: { reason: "resend bounce" } });
    expect(bounced("not an object")).toMatchObject({ report: { reason: "resend bounce" } });
  });

  test("takes the event's time, or now when it has none that parses", () => {
    const at = (created_at: unknown) => readResend(parse({ type: "email.delivered", created_at, data: { email_id: "e-1" } }), now);
    expect(at("2026-12-08T10:00:00.000Z")).toMatchObject({ report: { at: new Date("2026-12-08T10:00:00.000Z") } });
    expect(at("yesterday")).toMatchObject({ report: { at: now } });
    expect(at(12)).toMatchObject({ report: { at: now } });
  });

  test("a complaint asks for a suppression alone; an event without email_id, or of another type, is ignored", () => {
    expect(readResend(parse({ type: "email.complained", data: { email_id: "e-1" } }), now)).toMatchObject({ kind: "complaint", providerMessageId: "e-1" });
    expect(readResend(parse({ type: "email.delivered", data: {} }), now)).toEqual({ kind: "ignored", detail: "The event names no data.email_id" });
    expect(readResend(parse({ type: "email.delivery_delayed", data: { email_id: "e-1" } }), now).kind).toBe("ignored");
  });
});
