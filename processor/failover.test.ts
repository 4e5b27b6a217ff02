import { describe, expect, test } from "bun:test";
import { PermanentError, RetryableError } from "./channels/errors.ts";
import type { OutboundNotification, Sender } from "./channels/types.ts";
import { createRoutes, isBrokenCircuit, TRIAL_WAIT_MS, type Pick, type Routes } from "./failover.ts";

const HALF_OPEN_MS = 80;

const note = (over: Partial<OutboundNotification> = {}): OutboundNotification => ({
  id: crypto.randomUUID(),
  tenantId: "acme",
  userId: "u1",
  channel: "email",
  type: "transactional",
  payload: { to: "a@example.com", subject: "Hi", body: "Hello" },
  metadata: null,
  correlationId: null,
  ...over,
});

/** A provider that fails while `down` is true, counting its calls. */
function flaky(provider: string, fail: () => Error | null = () => new RetryableError("HTTP 500")) {
  const sender = {
    provider,
    calls: 0,
    down: true,
    async send() {
      sender.calls += 1;
      const err = sender.down ? fail() : null;
      if (err) throw err;
      return { providerMessageId: `${provider}-${sender.calls}` };
    },
  };
  return sender;
}

const other = (provider: string): Sender => ({ provider, send: async () => ({}) });

function routesFor(email: Sender[], transitions: string[] = []): Routes {
  return createRoutes(
    { email, sms: [other("sink")], push: [other("sink")], webhook: [other("webhook")], in_app: [other("inbox")] },
    { breaker: { failures: 3, halfOpenMs: HALF_OPEN_MS }, onStateChange: (c, p, s) => transitions.push(`${c}/${p}:${s}`) },
  );
}

/** Sends one notification the way a batch does: pick, call, settle. */
async function sendVia(routes: Routes, n = note()): Promise<{ pick: Pick; provider?: string; error?: unknown }> {
  const pick = routes.pick(n);
  try {
    if (pick.kind !== "send") return { pick };
    await pick.route.call(n, { attempt: 1, signal: new AbortController().signal });
    return { pick, provider: pick.route.sender.provider };
  } catch (error) {
    return { pick, error };
  } finally {
    routes.settle(pick);
  }
}

const signal = new AbortController().signal;

describe("createRoutes", () => {
  test("opens a provider's breaker after consecutive failures and sends through the next one", async () => {
    const primary = flaky("resend");
    const secondary = flaky("sink", () => null);
    const transitions: string[] = [];
    const routes = routesFor([primary, secondary], transitions);
    for (let i = 0; i < 3; i++) expect((await sendVia(routes)).provider).toBeUndefined();
    expect(transitions).toEqual(["email/resend:open"]);
    const next = await sendVia(routes);
    expect(next.provider).toBe("sink");
    expect(primary.calls).toBe(3);
    expect(routes.states().find((s) => s.provider === "resend")?.state).toBe("open");
  });

  test("lets one trial through after the pause and goes back to the primary when it succeeds", async () => {
    const primary = flaky("resend");
    const routes = routesFor([primary, flaky("sink", () => null)]);
    for (let i = 0; i < 3; i++) await sendVia(routes);
    primary.down = false;
    await Bun.sleep(HALF_OPEN_MS + 10);
    // The trial is reserved at pick time: a second pick in the meantime goes to the next provider.
    const trial = routes.pick(note());
    const meanwhile = routes.pick(note());
    expect(trial.kind === "send" && trial.trial && trial.route.sender.provider).toBe("resend");
    expect(meanwhile.kind === "send" && meanwhile.route.sender.provider).toBe("sink");
    if (trial.kind === "send") await trial.route.call(note(), { attempt: 1, signal });
    routes.settle(trial);
    routes.settle(meanwhile);
    expect((await sendVia(routes)).provider).toBe("resend");
    expect(routes.states().find((s) => s.provider === "resend")?.state).toBe("closed");
  });

  test("a failed trial opens the breaker again for another pause", async () => {
    const primary = flaky("resend");
    const routes = routesFor([primary, flaky("sink", () => null)]);
    for (let i = 0; i < 3; i++) await sendVia(routes);
    await Bun.sleep(HALF_OPEN_MS + 10);
    const trial = await sendVia(routes);
    expect(trial.error).toBeInstanceOf(RetryableError);
    expect((await sendVia(routes)).provider).toBe("sink");
    expect(primary.calls).toBe(4);
  });

  test("when every provider is open, says when the first may take a trial, without calling any", async () => {
    const a = flaky("smtp");
    const b = flaky("resend");
    const routes = routesFor([a, b]);
    const opened = Date.now();
    for (let i = 0; i < 6; i++) await sendVia(routes);
    expect([a.calls, b.calls]).toEqual([3, 3]);
    const wait = routes.pick(note());
    expect(wait.kind).toBe("wait");
    if (wait.kind === "wait") {
      expect(wait.untilMs).toBeGreaterThanOrEqual(opened + HALF_OPEN_MS);
      expect(wait.untilMs).toBeLessThanOrEqual(Date.now() + HALF_OPEN_MS);
    }
    expect([a.calls, b.calls]).toEqual([3, 3]);
    // While the one trial is out, the others wait a short while, not a whole pause.
    await Bun.sleep(HALF_OPEN_MS + 10);
    const trials = [routes.pick(note()), routes.pick(note())];
    const third = routes.pick(note());
    expect(trials.map((t) => t.kind === "send" && t.route.sender.provider)).toEqual(["smtp", "resend"]);
    expect(third.kind === "wait" && third.untilMs - Date.now()).toBeLessThanOrEqual(TRIAL_WAIT_MS);
    for (const t of [...trials, third]) routes.settle(t);
  });

  test("a failure the message causes never counts towards opening the breaker", async () => {
    const primary = flaky("resend", () => new PermanentError("invalid address"));
    const routes = routesFor([primary, other("sink")]);
    for (let i = 0; i < 10; i++) expect((await sendVia(routes)).error).toBeInstanceOf(PermanentError);
    expect(routes.states().find((s) => s.provider === "resend")?.state).toBe("closed");
  });

  test("skips a provider that does not take the address, and says so when none does", async () => {
    const apns: Sender = { provider: "apns", accepts: (n) => /^[0-9a-f]{64}$/.test(String(n.payload.to)), send: async () => ({}) };
    const routes = createRoutes(
      { email: [other("sink")], sms: [other("sink")], push: [apns], webhook: [other("webhook")], in_app: [other("inbox")] },
      { breaker: { failures: 3, halfOpenMs: HALF_OPEN_MS } },
    );
    const ios = routes.pick(note({ channel: "push", payload: { to: "ab".repeat(32), title: "t", body: "b" } }));
    expect(ios.kind === "send" && ios.route.sender.provider).toBe("apns");
    const android = routes.pick(note({ channel: "push", payload: { to: "fcm-token:xyz", title: "t", body: "b" } }));
    expect(android).toEqual({ kind: "none", error: "no push provider takes this address (apns)" });
  });

  test("webhooks have no breaker: one tenant's failing endpoint never stops another's", async () => {
    const hook = flaky("webhook");
    const routes = createRoutes(
      { email: [other("sink")], sms: [other("sink")], push: [other("sink")], webhook: [hook], in_app: [other("inbox")] },
      { breaker: { failures: 1, halfOpenMs: 60_000 } },
    );
    for (let i = 0; i < 5; i++) await sendVia(routes, note({ channel: "webhook" }));
    expect(hook.calls).toBe(5);
    expect(routes.states().map((s) => s.channel)).toEqual(["email", "sms", "push"]);
  });

  test("a call picked while closed but made after the breaker opened is refused without reaching the provider", async () => {
    const primary = flaky("resend");
    const routes = routesFor([primary]);
    const late = routes.pick(note());
    for (let i = 0; i < 3; i++) await sendVia(routes);
    expect(late.kind).toBe("send");
    const err = late.kind === "send" ? await late.route.call(note(), { attempt: 1, signal }).catch((e: unknown) => e) : null;
    expect(isBrokenCircuit(err)).toBe(true);
    expect(primary.calls).toBe(3);
  });
});
