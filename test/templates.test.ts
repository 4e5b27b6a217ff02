import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSmtpPeer, type SmtpPeer } from "./support/smtp-peer.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";
import { TENANT_KEY } from "./support/constants.ts";

// The check against a started Herald, through its HTTP API only: a German-speaking
// user, a template with en and de variants, a send by template reaching a local SMTP server
// with the German subject; then an opt-out of the template's category, and the next send
// ends suppressed.

const call = (base: string, method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TENANT_KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

let stack: Stack;
let smtp: SmtpPeer;
let gateway: HeraldProcess;
let processor: HeraldProcess;

beforeAll(async () => {
  stack = await createStack();
  smtp = await startSmtpPeer();
  processor = await startHerald("processor", {
    ...stack.env,
    HERALD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    HERALD_EMAIL_FROM: "Herald <no-reply@herald.test>",
  });
  gateway = await startHerald("gateway", stack.env);
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await smtp?.stop();
  await stack?.cleanup();
});

const statusOf = async (id: string) => (await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string; lastError: string | null };

describe("recipients, templates and preferences against a started Herald", () => {
  test("a German-speaking user gets the German subject; after opting out of the category the next send ends suppressed", async () => {
    expect((await call(gateway.url, "PUT", "/v1/users/ada", { email: "ada@example.com", locale: "de" })).status).toBe(201);
    const template = {
      name: "order-shipped",
      category: "orders",
      content: {
        variables: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] },
        locales: {
          default: { email: { subject: "Your order {{ data.orderId }} has shipped", text: "It is on its way." } },
          en: { email: { subject: "Your order {{ data.orderId }} has shipped", text: "It is on its way." } },
          de: { email: { subject: "Ihre Bestellung {{ data.orderId }} ist unterwegs", text: "Sie ist auf dem Weg." } },
        },
      },
    };
    expect((await call(gateway.url, "POST", "/v1/templates", template)).status).toBe(201);
    expect((await call(gateway.url, "POST", "/v1/templates/order-shipped/publish")).status).toBe(200);

    const send = async () => {
      const res = await post(gateway.url, "/v1/notifications", { userId: "ada", template: "order-shipped", data: { orderId: "o-42" } });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const first = await send();
    await eventually(async () => ((await statusOf(first)).status === "sent" ? true : null), { label: "the first send", timeoutMs: 15_000 });
    const mail = smtp.mail.find((m) => m.raw.includes(first));
    expect(mail?.to).toEqual(["ada@example.com"]);
    expect(mail?.raw).toContain("Subject: Ihre Bestellung o-42 ist unterwegs");
    expect(mail?.raw).toContain("Sie ist auf dem Weg.");

    expect(
      (await call(gateway.url, "PUT", "/v1/users/ada/preferences", { preferences: [{ category: "orders", channel: "email", enabled: false }] })).status,
    ).toBe(200);
    const second = await send();
    const ended = await eventually(
      async () => {
        const view = await statusOf(second);
        return view.status === "suppressed" ? view : null;
      },
      { label: "the second send suppressed", timeoutMs: 15_000 },
    );
    expect(ended.lastError).toBe("the user opted out of orders on email");
    expect(smtp.mail.some((m) => m.raw.includes(second))).toBe(false);
  });

  test("bad template data is a 400 with its path, and nothing is sent", async () => {
    const res = await post(gateway.url, "/v1/notifications", { userId: "ada", template: "order-shipped", data: { orderId: 42 } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual(["data.orderId"]);
  });
});
