// A quick contract check run against each peer before it is measured: a fast
// peer that answers the wrong thing would make the comparison meaningless.

/** The body every benchmark POSTs: the smallest valid notification. */
export const BENCH_BODY = JSON.stringify({ userId: "bench-user", channel: "in_app", payload: { title: "Bench", body: "Hello" } });

function post(url: string, key: string | null, body: string, headers: Record<string, string> = {}): Promise<Response> {
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return fetch(`${url}/v1/notifications`, { method: "POST", headers: { "content-type": "application/json", ...auth, ...headers }, body });
}

async function expectStatus(what: string, res: Response, status: number, contentType: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== status || !res.headers.get("content-type")?.startsWith(contentType)) {
    throw new Error(`${what}: want ${status} ${contentType}, got ${res.status} ${res.headers.get("content-type")}: ${text.slice(0, 300)}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Checks 202 / 400 / 401 / 415 and the idempotency replay and 422 against a
 * peer; resolves with how many messages it published (for the stream count).
 */
export async function checkContract(url: string, key: string): Promise<number> {
  const ok = await expectStatus("valid body", await post(url, key, BENCH_BODY), 202, "application/json");
  if (ok.status !== "accepted" || typeof ok.id !== "string" || !/^[0-9a-f-]{14}7/.test(ok.id)) throw new Error(`202 body: ${JSON.stringify(ok)}`);

  const bad = JSON.stringify({ userId: "u", channel: "sms", payload: { to: "not-a-phone", body: "x" } });
  const problem = await expectStatus("invalid body", await post(url, key, bad), 400, "application/problem+json");
  const errors = problem.errors as { path: string }[] | undefined;
  if (!errors?.some((e) => e.path === "payload.to")) throw new Error(`400 lacks the payload.to path: ${JSON.stringify(problem)}`);
  await expectStatus("malformed JSON", await post(url, key, "{nope"), 400, "application/problem+json");
  await expectStatus("no key", await post(url, null, BENCH_BODY), 401, "application/problem+json");
  await expectStatus("text body", await post(url, key, BENCH_BODY, { "content-type": "text/plain" }), 415, "application/problem+json");

  const idem = { "idempotency-key": `smoke-${crypto.randomUUID()}` };
  const first = await expectStatus("first keyed", await post(url, key, BENCH_BODY, idem), 202, "application/json");
  const again = await post(url, key, BENCH_BODY, idem);
  const replay = await expectStatus("replayed keyed", again, 202, "application/json");
  if (replay.id !== first.id || again.headers.get("idempotency-replayed") !== "true") throw new Error("replay did not return the first response");
  const other = BENCH_BODY.replace("Hello", "Other");
  await expectStatus("key reused with another body", await post(url, key, other, idem), 422, "application/problem+json");
  return 2;
}
