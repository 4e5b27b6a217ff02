import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { eventually } from "./support/eventually.ts";
import { createStack, get, post, type Stack } from "./support/stack.ts";

// The check, through the real processes: HERALD_EMAIL_PROVIDERS=resend,sink with
// Resend's API answering 500. Every email still ends sent; once Resend's breaker opens,
// later emails go to the sink without trying Resend.

const API_KEY = "re_test_failover_0123";

/** A Resend that is down: checks the key, then answers 500 as its API does for an internal error. */
function startDownResend() {
  let calls = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/emails" || req.headers.get("authorization") !== `Bearer ${API_KEY}`)
        return new Response("unexpected", { status: 400 });
      await req.text();
      calls += 1;
      return Response.json({ statusCode: 500, name: "internal_server_error", message: "An unexpected error occurred." }, { status: 500 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, calls: () => calls, stop: () => server.stop(true) };
}

interface Attempt {
  attempt: number;
  provider: string;
  outcome: string;
}

let stack: Stack;
let resend: ReturnType<typeof startDownResend>;
let gateway: HeraldProcess;
let processor: HeraldProcess;

beforeAll(async () => {
  stack = await createStack();
  resend = startDownResend();
  processor = await startHerald("processor", {
    ...stack.env,
    HERALD_EMAIL_PROVIDERS: "resend,sink",
    HERALD_RESEND_API_KEY: API_KEY,
    HERALD_RESEND_API_URL: resend.url,
    HERALD_EMAIL_FROM: "Herald <no-reply@herald.test>",
    // No trial call during the test: Resend stays skipped once its breaker opens.
    HERALD_BREAKER_HALF_OPEN_MS: "600000",
  });
  gateway = await startHerald("gateway", stack.env);
});

afterAll(async () => {
  await gateway?.signal("SIGTERM");
  await processor?.signal("SIGTERM");
  await resend?.stop();
  await stack?.cleanup();
});

async function accept(i: number): Promise<string> {
  const res = await post(gateway.url, "/v1/notifications", {
    userId: `u-${i}`,
    channel: "email",
    payload: { to: `u${i}@example.com`, subject: "Hi", body: "Hello" },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const statusOf = async (id: string) => ((await (await get(gateway.url, `/v1/notifications/${id}`)).json()) as { status: string }).status;
const attemptsOf = async (id: string) => ((await (await get(gateway.url, `/v1/notifications/${id}/attempts`)).json()) as { data: Attempt[] }).data;

describe("failover with HERALD_EMAIL_PROVIDERS=resend,sink and Resend answering 500", () => {
  test("all 20 emails end sent; once the breaker opens, the later ones go to the sink without trying Resend", async () => {
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => accept(i)));
    const opened = await processor.waitForLog((l) => l.msg === "circuit breaker opened: the provider is skipped until a trial call succeeds");
    expect(opened).toMatchObject({ channel: "email", provider: "resend", state: "open" });
    const later = await Promise.all(Array.from({ length: 10 }, (_, i) => accept(10 + i)));
    const ids = [...first, ...later];
    await eventually(async () => ((await Promise.all(ids.map(statusOf))).every((s) => s === "sent") ? true : null), {
      timeoutMs: 20_000,
      label: "all 20 sent",
    });

    const attempts = await Promise.all(ids.map(attemptsOf));
    for (const list of attempts) {
      // Each ends with one send through the sink, after at most Resend's failed attempts.
      expect(list.at(-1)).toMatchObject({ provider: "sink", outcome: "sent" });
      expect(list.slice(0, -1).every((a) => a.provider === "resend" && a.outcome === "retryable_error")).toBe(true);
    }
    // The later ones were never tried on Resend.
    for (const list of attempts.slice(10)) expect(list.map((a) => a.provider)).toEqual(["sink"]);
    const resendAttempts = attempts.flat().filter((a) => a.provider === "resend").length;
    expect(resendAttempts).toBe(resend.calls());
    expect(resendAttempts).toBeGreaterThanOrEqual(5);
    expect(resendAttempts).toBeLessThanOrEqual(20);
  });
});
