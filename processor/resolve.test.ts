import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { setPreferences } from "../lib/db/preferences.ts";
import { createTemplate, publishTemplate, putDraft } from "../lib/db/templates.ts";
import { putUser } from "../lib/db/users.ts";
import type { TemplateContent, TemplatePayload } from "../schemas/recipients.ts";
import { createSinkRecorder } from "./channels/index.ts";
import { createResolver } from "./resolver.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// Template sends through the lanes, on the real NATS and Postgres: rendered from the
// version fixed at accept time, in the user's language, suppressed when they opted out,
// held back in their quiet hours.

const SECRET = "unsubscribe-secret-of-at-least-32-characters!";
const content = (subject: Record<string, string>): TemplateContent => ({
  variables: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
  locales: Object.fromEntries(
    Object.entries(subject).map(([locale, s]) => [
      locale,
      { email: { subject: s, text: "Hallo {{ data.name }} / Hello {{ data.name }}" }, sms: { body: `${s} {{ data.name }}` } },
    ]),
  ) as TemplateContent["locales"],
});

const sink = createSinkRecorder();
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  const db = h.db.db;
  await createTemplate(db, "acme", { name: "welcome", category: "onboarding", content: content({ default: "Welcome", de: "Willkommen" }) });
  await publishTemplate(db, "acme", "welcome");
  await putUser(db, "acme", "ada", { email: "ada@example.com", phone: "+14155550100", locale: "de-AT" });
  await putUser(db, "acme", "bob", { email: "bob@example.com", locale: "fr" });
  await putUser(db, "acme", "cyd", { email: "cyd@example.com" });
  await putUser(db, "acme", "noemail", { phone: "+14155550101" });
  await h.start(
    testSenders(sink),
    {},
    undefined,
    createResolver(h.db.sql, { tokenSecret: SECRET, publicUrl: "https://notify.example.com", unsubscribeTtlDays: 30 }),
  );
});
afterAll(async () => {
  await h.cleanup();
});

const templated = (userId: string, over: Partial<Parameters<typeof envelope>[0]> = {}, version = 1) =>
  envelope({
    channel: "email",
    userId,
    payload: { template: { name: "welcome", version, category: "onboarding" }, data: { name: userId } } satisfies TemplatePayload,
    ...over,
  });
const settled = (id: string, status: string) =>
  eventually(async () => ((await h.row(id))?.status === status ? h.row(id) : null), { label: `${id} ${status}`, timeoutMs: 10_000 });
const sentPayload = (id: string) => sink.entries().find((e) => e.id === id)?.payload;

describe("template sends in the lanes", () => {
  test("a German-speaking user gets the de variant (de-AT → de), an unknown locale the default; the address comes from the profile", async () => {
    const [ada, bob] = [templated("ada"), templated("bob")];
    await h.publish(ada);
    await h.publish(bob);
    await settled(ada.id, "sent");
    await settled(bob.id, "sent");
    expect(sentPayload(ada.id)).toEqual({ to: "ada@example.com", subject: "Willkommen", body: "Hallo ada / Hello ada" });
    expect(sentPayload(bob.id)).toMatchObject({ to: "bob@example.com", subject: "Welcome" });
    // Its events name the template, version and category, and carry none of its data.
    const events = (await h.readStream(h.topo.streams.events)).map((m) => m.data as Record<string, unknown>).filter((ev) => ev.id === ada.id);
    expect(events.map((ev) => [ev.type, ev.template, ev.category])).toEqual([
      ["accepted", { name: "welcome", version: 1 }, "onboarding"],
      ["sent", { name: "welcome", version: 1 }, "onboarding"],
    ]);
    expect(JSON.stringify(events)).not.toContain("ada@example.com");
    // The sent row keeps what was sent, as an inbox or a GET shows it.
    expect((await h.row(ada.id))?.payload).toEqual({ to: "ada@example.com", subject: "Willkommen", body: "Hallo ada / Hello ada" });
  });

  test("a version published after the send does not change what it sends", async () => {
    await putDraft(h.db.db, "acme", "welcome", {
      category: "onboarding",
      content: content({ default: "Welcome, version two", de: "Willkommen, Version zwei" }),
    });
    expect(await publishTemplate(h.db.db, "acme", "welcome")).toBe(2);
    const pinned = templated("cyd", {}, 1);
    const latest = templated("cyd", {}, 2);
    await h.publish(pinned);
    await h.publish(latest);
    await settled(pinned.id, "sent");
    await settled(latest.id, "sent");
    expect(sentPayload(pinned.id)).toMatchObject({ subject: "Welcome" });
    expect(sentPayload(latest.id)).toMatchObject({ subject: "Welcome, version two" });
  });

  test("a user opted out of the category on the channel: suppressed with the reason, never sent; other channels go", async () => {
    await setPreferences(h.db.db, "acme", "ada", [{ category: "onboarding", channel: "email", enabled: false }]);
    const email = templated("ada");
    const sms = templated("ada", { channel: "sms" });
    await h.publish(email);
    await h.publish(sms);
    const row = await settled(email.id, "suppressed");
    expect(row).toMatchObject({ attempts: 0, lastError: "the user opted out of onboarding on email" });
    await settled(sms.id, "sent");
    expect(sentPayload(email.id)).toBeUndefined();
    await setPreferences(h.db.db, "acme", "ada", [{ category: "onboarding", channel: "email", enabled: true }]);
  });

  test("no address for the channel fails with the reason, without an attempt", async () => {
    const e = templated("noemail");
    await h.publish(e);
    const row = await settled(e.id, "failed");
    expect(row).toMatchObject({ attempts: 0, lastError: "cannot send welcome: user noemail has no email address" });
  });

  test("a marketing email carries its one-click unsubscribe link", async () => {
    const e = templated("cyd", { type: "marketing" });
    await h.publish(e);
    await settled(e.id, "sent");
    expect(String(sentPayload(e.id)?.listUnsubscribe)).toStartWith("https://notify.example.com/v1/unsubscribe/");
    const transactional = templated("cyd");
    await h.publish(transactional);
    await settled(transactional.id, "sent");
    expect(sentPayload(transactional.id)?.listUnsubscribe).toBeUndefined();
  });

  test("inside the user's quiet hours a normal send waits in the scheduler until they end, an urgent one goes at once", async () => {
    // A window from an hour ago to two hours ahead, in UTC, whatever the time now.
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const now = Date.now();
    await putUser(h.db.db, "acme", "sleepy", {
      email: "sleepy@example.com",
      timeZone: "UTC",
      quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 7_200_000) },
    });
    const normal = templated("sleepy");
    const urgent = templated("sleepy", { priority: "urgent" });
    const explicit = envelope({ channel: "email", userId: "sleepy", payload: { to: "sleepy@example.com", subject: "Hi", body: "Hello" } });
    await h.publish(normal);
    await h.publish(urgent);
    await h.publish(explicit);
    await settled(urgent.id, "sent");
    await settled(normal.id, "scheduled");
    await settled(explicit.id, "scheduled");
    const [entry] = (await h.db.db.execute(sql`select due_at, reason from schedules where notification_id = ${normal.id}`)) as unknown as Array<{
      due_at: Date;
      reason: string;
    }>;
    expect(entry?.reason).toBe("quiet_hours");
    expect(hhmm(new Date(entry?.due_at ?? 0).getTime())).toBe(hhmm(now + 7_200_000));
    expect(sentPayload(normal.id)).toBeUndefined();
    // The window ends (the clock moved on): the scheduler releases them, and they are sent.
    await putUser(h.db.db, "acme", "sleepy", { email: "sleepy@example.com", timeZone: "UTC" });
    await h.db.db.execute(sql`update schedules set due_at = now() where notification_id in (${normal.id}, ${explicit.id})`);
    await settled(normal.id, "sent");
    await settled(explicit.id, "sent");
  });

  test("a scheduled send released into the user's quiet hours is held again and released again, not dropped as a copy", async () => {
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const now = Date.now();
    await putUser(h.db.db, "acme", "owl", {
      email: "owl@example.com",
      timeZone: "UTC",
      quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 7_200_000) },
    });
    const e = templated("owl", { scheduledFor: new Date(now + 500).toISOString() });
    await h.publish(e);
    // Released at its time, then held for the quiet hours: a second schedule entry, due later.
    await eventually(
      async () => {
        const [entry] = (await h.db.db.execute(sql`select reason from schedules where notification_id = ${e.id}`)) as unknown as Array<{ reason: string }>;
        return entry?.reason === "quiet_hours" ? true : null;
      },
      { label: "held for quiet hours", timeoutMs: 10_000 },
    );
    // The quiet hours end within the stream's duplicate window of the first release: the second release must still go out.
    await putUser(h.db.db, "acme", "owl", { email: "owl@example.com", timeZone: "UTC" });
    await h.db.db.execute(sql`update schedules set due_at = now() where notification_id = ${e.id}`);
    await settled(e.id, "sent");
  });
});
