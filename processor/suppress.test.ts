import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { recordSuppressions } from "../lib/db/suppressions.ts";
import type { DeadLetterRecord } from "../schemas/dead-letter.ts";
import { createSinkRecorder } from "./channels/index.ts";
import { PermanentError } from "./channels/errors.ts";
import type { Sender } from "./channels/types.ts";
import { eventually } from "../test/support/eventually.ts";
import { createHarness, envelope, testSenders, type Harness } from "../test/support/processor-harness.ts";

// Suppression in the lanes, on the real NATS and Postgres: a known-bad address is never
// sent to again for its tenant, and a device the push service no longer knows is remembered.

const GONE_TOKEN = "f".repeat(64);

/** A push service that has forgotten one device and delivers to the rest. */
const push: Sender & { calls: string[] } = {
  provider: "apns",
  calls: [],
  async send(n) {
    const to = String(n.payload.to);
    push.calls.push(to);
    if (to === GONE_TOKEN) throw new PermanentError("APNs Unregistered (HTTP 410): the device token can no longer receive", { unreachable: true });
    return { providerMessageId: n.id };
  },
};

const sink = createSinkRecorder();
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  await h.start({ ...testSenders(sink), push });
});
afterAll(async () => {
  await h.cleanup();
});

const settled = (id: string, status: string) =>
  eventually(async () => ((await h.row(id))?.status === status ? h.row(id) : null), { label: `${id} ${status}`, timeoutMs: 10_000 });
const eventsOf = async (id: string) =>
  (await h.readStream(h.topo.streams.events)).map((m) => m.data as { id: string; type: string; error?: string }).filter((e) => e.id === id);

describe("suppressed addresses", () => {
  test("a send to an address bounced for the tenant ends suppressed with the reason, never sent; another tenant's send goes out", async () => {
    await recordSuppressions(h.db.sql, [
      {
        tenantId: "acme",
        channel: "email",
        address: "bounced@example.com",
        reason: "resend bounce: Permanent General",
        source: "bounce",
        notificationId: null,
      },
    ]);
    const payload = { to: "Bounced@Example.com ", subject: "Hi", body: "Hello" };
    const mine = envelope({ channel: "email", payload });
    const theirs = envelope({ channel: "email", tenantId: "beta", payload });
    await h.publish(mine);
    await h.publish(theirs);
    const row = await settled(mine.id, "suppressed");
    expect(row).toMatchObject({ attempts: 0, lastError: "the email address is suppressed for this tenant (bounce: resend bounce: Permanent General)" });
    expect(await h.attempts(mine.id)).toEqual([]);
    await settled(theirs.id, "sent");
    expect(sink.entries().map((e) => e.id)).toContain(theirs.id);
    expect(sink.entries().map((e) => e.id)).not.toContain(mine.id);
    await eventually(async () => ((await eventsOf(mine.id)).length === 2 ? true : null), { label: "two events" });
    expect((await eventsOf(mine.id)).map((e) => [e.type, e.error])).toEqual([
      ["accepted", undefined],
      ["suppressed", row?.lastError ?? undefined],
    ]);
  });

  test("an unregistered device ends bounced without a dead letter, and the next push to it is suppressed without a call", async () => {
    const first = envelope({ channel: "push", payload: { to: GONE_TOKEN, title: "Hi", body: "Hello" } });
    await h.publish(first);
    const bounced = await settled(first.id, "bounced");
    expect(bounced?.lastError).toContain("Unregistered");
    expect((await h.attempts(first.id)).map((a) => [a.provider, a.outcome])).toEqual([["apns", "permanent_error"]]);
    const dlq = (await h.readStream(h.topo.streams.dlq)).map((m) => m.data as DeadLetterRecord);
    expect(dlq.some((d) => "envelope" in d && d.envelope?.id === first.id)).toBe(false);

    const second = envelope({ channel: "push", payload: { to: GONE_TOKEN, title: "Again", body: "Hello" } });
    await h.publish(second);
    const row = await settled(second.id, "suppressed");
    expect(row?.lastError).toContain("(unregistered: APNs Unregistered");
    expect(push.calls.filter((t) => t === GONE_TOKEN)).toHaveLength(1);
    expect((await eventsOf(first.id)).map((e) => e.type)).toEqual(["accepted", "bounced"]);
  });
});
