import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, verify } from "node:crypto";
import { startSmtpPeer, type SmtpPeer } from "./support/smtp-peer.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";
import { signTwilio } from "./support/provider-signatures.ts";
import { freePort } from "../lib/probe.ts";

// Each provider against a local peer that speaks its protocol and checks the documented request shapes, not a mock.

const ACCOUNT_SID = `AC${"5f".repeat(16)}`;
const AUTH_TOKEN = "twilio-test-token";
const FROM_NUMBER = "+14155550199";
const PROJECT = "herald-test";

const { privateKey, publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

function base64urlJson(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Twilio, Google OAuth and FCM on one loopback server; anything off-contract is recorded as a violation. */
function startHttpPeer() {
  const sms: Record<string, string>[] = [];
  const pushes: { token: string; title: string; body: string }[] = [];
  const violations: string[] = [];
  let grants = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`) {
        if (req.headers.get("authorization") !== `Basic ${btoa(`${ACCOUNT_SID}:${AUTH_TOKEN}`)}`) {
          return Response.json({ code: 20003, message: "Authenticate", status: 401 }, { status: 401 });
        }
        if (req.headers.get("content-type") !== "application/x-www-form-urlencoded") violations.push("twilio content-type");
        const form = Object.fromEntries(new URLSearchParams(await req.text()));
        sms.push(form);
        return Response.json({ sid: `SM${crypto.randomUUID().replaceAll("-", "")}`, status: "queued" }, { status: 201 });
      }
      if (url.pathname === "/token") {
        const form = new URLSearchParams(await req.text());
        const [header, claims, signature] = (form.get("assertion") ?? "").split(".");
        const signed = verify("sha256", Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature ?? "", "base64url"));
        const c = base64urlJson(claims);
        if (
          form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
          !signed ||
          c.scope !== "https://www.googleapis.com/auth/firebase.messaging"
        ) {
          violations.push("token grant");
          return Response.json({ error: "invalid_grant" }, { status: 400 });
        }
        grants++;
        return Response.json({ access_token: `ya29.test-${grants}`, expires_in: 3600, token_type: "Bearer" });
      }
      if (url.pathname === `/v1/projects/${PROJECT}/messages:send`) {
        if (!req.headers.get("authorization")?.startsWith("Bearer ya29.test-")) {
          return Response.json({ error: { code: 401, status: "UNAUTHENTICATED" } }, { status: 401 });
        }
        const { message } = (await req.json()) as { message: { token: string; notification: { title: string; body: string } } };
        pushes.push({ token: message.token, ...message.notification });
        return Response.json({ name: `projects/${PROJECT}/messages/0:${Date.now()}` });
      }
      violations.push(`unexpected ${req.method} ${url.pathname}`);
      return new Response("not found", { status: 404 });
    },
  });
  return { server, sms, pushes, violations, grants: () => grants, url: `http://127.0.0.1:${server.port}` };
}

let stack: Stack;
let smtp: SmtpPeer;
let http: ReturnType<typeof startHttpPeer>;
let gateway: HeraldProcess;
let processor: HeraldProcess;
let callbackUrl: string;

beforeAll(async () => {
  stack = await createStack();
  smtp = await startSmtpPeer();
  http = startHttpPeer();
  const serviceAccount = {
    type: "service_account",
    project_id: PROJECT,
    private_key_id: "key-1",
    private_key: privateKey,
    client_email: `herald@${PROJECT}.iam.gserviceaccount.com`,
    token_uri: `${http.url}/token`,
  };
  const port = freePort();
  callbackUrl = `http://127.0.0.1:${port}/v1/callbacks/twilio`;
  processor = await startHerald("processor", {
    ...stack.env,
    TWILIO_STATUS_CALLBACK_URL: callbackUrl,
    HERALD_MAX_ATTEMPTS: "2",
    HERALD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    HERALD_EMAIL_FROM: "Herald <no-reply@herald.test>",
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM: FROM_NUMBER,
    TWILIO_API_URL: http.url,
    HERALD_FCM_SERVICE_ACCOUNT: JSON.stringify(serviceAccount),
    HERALD_FCM_API_URL: http.url,
  });
  // The gateway verifies Twilio's callbacks: the account's token and the URL Twilio was given.
  gateway = await startHerald("gateway", { ...stack.env, HERALD_PORT: String(port), TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_STATUS_CALLBACK_URL: callbackUrl });
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await smtp?.stop();
  await http?.server.stop(true);
  await stack?.cleanup();
});

interface View {
  status: string;
  attempts: number;
  lastError: string | null;
}

async function accept(body: unknown): Promise<string> {
  const res = await post(gateway.url, "/v1/notifications", body);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function settled(id: string): Promise<View> {
  return eventually(
    async () => {
      const view = (await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as View;
      return view.status === "sent" || view.status === "failed" ? view : null;
    },
    { timeoutMs: 10_000 },
  );
}

/** The first attempt's provider and the id that provider gave the message. */
async function attemptOf(id: string): Promise<{ provider: string; providerMessageId: string | null } | undefined> {
  const { data } = (await (await get(gateway.url, `/v1/notifications/${id}/attempts`)).json()) as {
    data: { provider: string; providerMessageId: string | null }[];
  };
  return data[0];
}

describe("providers configured from the environment", () => {
  test("email, SMS and push each reach their provider once and end sent", async () => {
    const [email, sms, push] = await Promise.all([
      accept({ userId: "u-1", channel: "email", payload: { to: "ada@example.com", subject: "Your code", body: "123456" } }),
      accept({ userId: "u-1", channel: "sms", payload: { to: "+14155550100", body: "Your code is 123456" } }),
      accept({ userId: "u-1", channel: "push", payload: { to: "device-token-abc", title: "Hi", body: "You have mail" } }),
    ]);
    const views = await Promise.all([email, sms, push].map(settled));
    expect(views.map((v) => [v.status, v.attempts])).toEqual([
      ["sent", 1],
      ["sent", 1],
      ["sent", 1],
    ]);
    const [mailAttempt, smsAttempt, pushAttempt] = await Promise.all([email, sms, push].map(attemptOf));
    expect(mailAttempt).toEqual({ ...mailAttempt, provider: "smtp", providerMessageId: `<${email}@herald.test>` });
    expect(smsAttempt?.provider).toBe("twilio");
    expect(smsAttempt?.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(pushAttempt?.provider).toBe("fcm");
    expect(pushAttempt?.providerMessageId).toStartWith(`projects/${PROJECT}/messages/`);

    const mail = smtp.mail.filter((m) => m.raw.includes(email));
    expect(mail.length).toBe(1);
    expect(mail[0]?.from).toBe("no-reply@herald.test");
    expect(mail[0]?.to).toEqual(["ada@example.com"]);
    expect(mail[0]?.raw).toContain(`Message-ID: <${email}@herald.test>`);
    expect(mail[0]?.raw).toContain("Subject: Your code");

    expect(http.sms).toEqual([{ To: "+14155550100", From: FROM_NUMBER, Body: "Your code is 123456", StatusCallback: callbackUrl }]);
    expect(http.pushes).toEqual([{ token: "device-token-abc", title: "Hi", body: "You have mail" }]);
    expect(http.grants()).toBe(1);
    expect(http.violations).toEqual([]);
  });

  test("Twilio's signed status callback, through the running gateway, moves the SMS to delivered; a forged one changes nothing", async () => {
    const id = await accept({ userId: "u-3", channel: "sms", payload: { to: "+14155550101", body: "Hello" } });
    expect((await settled(id)).status).toBe("sent");
    const sid = (await attemptOf(id))?.providerMessageId ?? "";
    const params = { MessageSid: sid, MessageStatus: "delivered", AccountSid: ACCOUNT_SID, To: "+14155550101", From: FROM_NUMBER };
    const callback = (signature: string) =>
      fetch(callbackUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
        body: new URLSearchParams(params).toString(),
      });
    const forged = await callback(signTwilio("not-the-token", callbackUrl, params));
    expect(forged.status).toBe(401);
    expect(((await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as View).status).toBe("sent");
    const signed = await callback(signTwilio(AUTH_TOKEN, callbackUrl, params));
    expect(signed.status).toBe(200);
    expect(((await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as View).status).toBe("delivered");
  });

  test("a recipient the SMTP server refuses (550) fails at once, without its address in the error", async () => {
    const id = await accept({ userId: "u-2", channel: "email", payload: { to: "refused@example.com", subject: "Hi", body: "x" } });
    const view = await settled(id);
    expect(view.status).toBe("failed");
    expect(view.attempts).toBe(1);
    expect(view.lastError).toContain("550");
    expect(view.lastError).not.toContain("refused@example.com");
  });

  test("the processor stops cleanly on SIGTERM with its SMTP pool open: exit 0, the SMTP session closed", async () => {
    const code = await processor.signal("SIGTERM");
    expect(code).toBe(0);
    await eventually(async () => smtp.server.connections.size === 0, { timeoutMs: 5_000 });
  });
});
