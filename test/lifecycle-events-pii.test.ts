// Lifecycle events go to other services: a failed send's error must not carry the recipient's address.
import { afterEach, describe, expect, test } from "bun:test";
import { createResendSender } from "../processor/channels/email-resend.ts";
import { createSmtpSender } from "../processor/channels/email-smtp.ts";
import { createTwilioSender } from "../processor/channels/sms-twilio.ts";
import { createVonageSender } from "../processor/channels/sms-vonage.ts";
import type { Sender } from "../processor/channels/types.ts";
import { eventually } from "./support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "./support/processor-harness.ts";
import { startSmtpPeer, type SmtpPeer } from "./support/smtp-peer.ts";

let h: Harness | undefined;
let peer: SmtpPeer | undefined;
afterEach(async () => {
  await h?.cleanup();
  await peer?.stop();
  h = peer = undefined;
});

const EMAIL = "refused@leaky-recipient.example.com";
const PHONE = "+14155550123";

/** A provider's answer that quotes the recipient, as real ones do. */
function answering(status: number, body: unknown): typeof fetch {
  return (async () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })) as unknown as typeof fetch;
}

const resend = createResendSender({
  apiKey: "re_test",
  from: "Herald <no-reply@example.com>",
  timeoutMs: 2_000,
  fetch: answering(422, { statusCode: 422, name: "validation_error", message: `Invalid \`to\` field: ${EMAIL} is not a valid address` }),
});
const twilio = createTwilioSender({
  accountSid: "AC1",
  authToken: "t",
  from: "+14155550100",
  timeoutMs: 2_000,
  fetch: answering(400, { code: 21211, message: `The 'To' number ${PHONE} is not a valid phone number.`, status: 400 }),
});
const vonage = createVonageSender({
  apiKey: "k",
  apiSecret: "s",
  from: "Herald",
  timeoutMs: 2_000,
  fetch: answering(422, {
    type: "https://developer.vonage.com/api-errors#invalid-params",
    title: "Invalid params",
    detail: `The number ${PHONE.slice(1)} is invalid`,
  }),
});

async function failuresLeakNothing(email: Sender, sms: Sender): Promise<void> {
  h = await createHarness();
  await h.start({ ...testSenders(), email, sms }, { maxAttempts: 1 });
  const sent = [
    envelope({ channel: "email", payload: { to: EMAIL, subject: "Hi", body: "Hello" } }),
    envelope({ channel: "sms", payload: { to: PHONE, body: "Hello" } }),
  ];
  for (const e of sent) await h.publish(e);
  const harness = h;
  await eventually(async () => (await Promise.all(sent.map((e) => harness.row(e.id)))).every((r) => r?.status === "failed"), { timeoutMs: 10_000 });
  const events = await eventually(async () => {
    const all = await harness.readStream(harness.topo.streams.events);
    return all.filter((e) => (e.data as { type: string }).type === "failed").length === 2 ? all : null;
  });
  const text = JSON.stringify(events);
  expect(text).toContain('"error"');
  for (const address of [EMAIL, PHONE, PHONE.slice(1)]) expect(text).not.toContain(address);
}

describe("lifecycle events carry no recipient address", () => {
  test("failures from SMTP and Twilio that quote the address", async () => {
    peer = await startSmtpPeer();
    const smtp = createSmtpSender({ url: `smtp://127.0.0.1:${peer.port}`, from: "Herald <no-reply@example.com>", timeoutMs: 2_000 });
    try {
      await failuresLeakNothing(smtp, twilio);
    } finally {
      await smtp.close();
    }
  });

  test("failures from Resend and Vonage that quote the address", async () => {
    await failuresLeakNothing(resend, vonage);
  });
});
