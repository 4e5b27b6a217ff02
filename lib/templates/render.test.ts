import { describe, expect, test } from "bun:test";
import type { TemplateContent } from "../../schemas/recipients.ts";
import { createTemplateEngine, isTemplateRenderError, localeChain, pickContent, renderChannel, type TemplateRenderError, type RenderVars } from "./render.ts";

const engine = createTemplateEngine();
const vars = (data: Record<string, unknown> = {}, user: Record<string, unknown> = {}): RenderVars => ({ data, user });

const content: TemplateContent = {
  variables: { type: "object" },
  locales: {
    default: {
      email: { subject: "Order {{ data.id }}", text: "Hi {{ user.name }}" },
      sms: { body: "Order {{ data.id }} shipped" },
      push: { title: "Shipped", body: "Order {{ data.id }}" },
    },
    de: { email: { subject: "Bestellung {{ data.id }}", text: "Hallo {{ user.name }}" }, sms: { body: "Bestellung {{ data.id }}" } },
    "de-AT": { email: { subject: "Bestellung {{ data.id }} (AT)", text: "Servus {{ user.name }}" } },
  },
};

function thrown(fn: () => unknown): TemplateRenderError {
  try {
    fn();
  } catch (err) {
    if (isTemplateRenderError(err)) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("localeChain", () => {
  test("drops one subtag at a time down to default, the requested locale winning over the user's", () => {
    expect(localeChain("de-AT", "fr")).toEqual(["de-AT", "de", "default"]);
    expect(localeChain(undefined, "zh-Hant-TW")).toEqual(["zh-Hant-TW", "zh-Hant", "zh", "default"]);
    expect(localeChain(undefined, undefined)).toEqual(["default"]);
  });
});

describe("pickContent", () => {
  test("falls back de-AT → de → default per channel, matching locale keys case-insensitively", () => {
    const chain = localeChain("DE-at", undefined);
    expect(pickContent(content, "email", chain)?.locale).toBe("de-AT");
    expect(pickContent(content, "sms", chain)?.locale).toBe("de");
    expect(pickContent(content, "push", chain)?.locale).toBe("default");
    expect(pickContent(content, "webhook", chain)).toBeNull();
  });
});

describe("renderChannel", () => {
  test("renders each channel to its payload shape without an address", () => {
    const email = pickContent(content, "email", ["default"]);
    expect(email && renderChannel(engine, "email", email.content, vars({ id: "o-1" }, { name: "Ann" }))).toEqual({ subject: "Order o-1", body: "Hi Ann" });
    const push = pickContent(content, "push", ["default"]);
    expect(push && renderChannel(engine, "push", push.content, vars({ id: 7 }))).toEqual({ title: "Shipped", body: "Order 7" });
  });

  test("escapes values in the email's html part only; plain text parts stay as given", () => {
    const out = renderChannel(
      engine,
      "email",
      { subject: "{{ data.x }}", text: "{{ data.x }}", html: "<p>{{ data.x }}</p>" },
      vars({ x: "<b>Tom & Jerry</b>" }),
    );
    expect(out).toEqual({ subject: "<b>Tom & Jerry</b>", body: "<b>Tom & Jerry</b>", html: "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>" });
  });

  test("an unknown filter is a syntax error naming the field", () => {
    const err = thrown(() => renderChannel(engine, "sms", { body: "{{ data.x | shout }}" }, vars({ x: 1 })));
    expect(err.code).toBe("syntax");
    expect(err.field).toBe("sms.body");
    expect(err.message).toContain("undefined filter: shout");
  });

  test("a webhook body must render to JSON; the json filter makes values safe", () => {
    const ok = renderChannel(
      engine,
      "webhook",
      { url: "https://h.example.com/{{ data.id }}", body: '{"name": {{ data.name | json }}}' },
      vars({ id: 1, name: 'a "quoted" name' }),
    );
    expect(ok).toEqual({ url: "https://h.example.com/1", body: { name: 'a "quoted" name' } });
    const err = thrown(() => renderChannel(engine, "webhook", { url: "https://h.example.com", body: '{"name": "{{ data.name }}"}' }, vars({ name: 'a "b"' })));
    expect(err.code).toBe("invalid_json");
    expect(err.field).toBe("webhook.body");
  });

  test("reads only the data's own properties: prototype members render empty", () => {
    const out = renderChannel(
      engine,
      "sms",
      { body: "[{{ data.constructor }}|{{ data.__proto__ }}|{{ data.toString }}|{{ data.o.hasOwnProperty }}]" },
      vars({ o: {} }),
    );
    expect(out.body).toBe("[|||]");
  });

  test("a required field that renders empty is an error; an empty html part is left out", () => {
    expect(thrown(() => renderChannel(engine, "push", { title: "{{ data.missing }}", body: "b" }, vars())).code).toBe("empty");
    expect(renderChannel(engine, "email", { subject: "s", text: "t", html: "{{ data.none }}" }, vars())).toEqual({ subject: "s", body: "t" });
  });

  test("partials are not available, and runaway loops hit a limit", () => {
    expect(thrown(() => renderChannel(engine, "sms", { body: "{% include 'secrets' %}" }, vars())).code).toBe("syntax");
    const loop = "{% for i in (1..100000) %}{% for j in (1..100000) %}x{% endfor %}{% endfor %}";
    expect(thrown(() => renderChannel(engine, "sms", { body: loop }, vars())).code).toBe("limit");
    expect(thrown(() => renderChannel(engine, "sms", { body: "{% for i in (1..100000000) %}{{ i }}{% endfor %}" }, vars())).code).toBe("limit");
  });

  test("caches a published version's parsed fields by key, not drafts", () => {
    const own = createTemplateEngine({ cacheSize: 2 });
    const key = { tenantId: "acme", name: "order", version: 1, locale: "default" };
    renderChannel(own, "push", { title: "t", body: "b" }, vars());
    expect(own.cached).toBe(0);
    renderChannel(own, "push", { title: "t", body: "b" }, vars(), key);
    expect(own.cached).toBe(2);
    // The cached parse wins: a version never changes, so its source is not compared again.
    expect(renderChannel(own, "push", { title: "other", body: "b" }, vars(), key)).toEqual({ title: "t", body: "b" });
    renderChannel(own, "sms", { body: "x" }, vars(), key);
    expect(own.cached).toBe(2);
  });
});
