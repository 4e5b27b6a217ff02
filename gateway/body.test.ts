import { expect, test } from "bun:test";
import { longArrayPath, MAX_JSON_ARRAY_LENGTH, readJsonBody, readLimited } from "./body.ts";
import { AppError } from "./errors.ts";

/** A POST whose body stream sends one chunk, then fails with `err` (what the runtime does when the socket goes). */
function failingPost(err: unknown, headers: Record<string, string> = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"userId":'));
    },
    pull(controller) {
      controller.error(err);
    },
  });
  return new Request("http://herald/v1/notifications", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}

test("turns a body the client abandoned mid-stream into client_closed_request (499)", async () => {
  const err = await thrown(readLimited(failingPost(new DOMException("The connection was closed.", "AbortError")), 1024));
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("client_closed_request");
  expect((err as AppError).status as number).toBe(499);
});

test("turns an abandoned body with a declared Content-Length into client_closed_request too", async () => {
  const err = await thrown(readLimited(failingPost(new DOMException("The connection was closed.", "AbortError"), { "content-length": "1000" }), 1024));
  expect((err as AppError).code).toBe("client_closed_request");
});

test("leaves other read failures alone, so a bug still answers 500", async () => {
  const boom = new TypeError("boom");
  expect(await thrown(readLimited(failingPost(boom), 1024))).toBe(boom);
});

test("still refuses an oversize body as 413 rather than calling it a client abort", async () => {
  const err = await thrown(readLimited(failingPost(new DOMException("gone", "AbortError"), { "content-length": "5000" }), 1024));
  expect((err as AppError).code).toBe("payload_too_large");
});

const jsonPost = (text: string) =>
  new Request("http://herald/v1/notifications", { method: "POST", body: text, headers: { "content-type": "application/json" } });

test("refuses an array longer than the limit anywhere in the body, naming its path", async () => {
  const long = JSON.stringify({ payload: { body: { items: [0, Array(MAX_JSON_ARRAY_LENGTH + 1).fill(1)] } } });
  const err = await thrown(readJsonBody(jsonPost(long), 1 << 20));
  expect((err as AppError).code).toBe("invalid_body");
  expect((err as AppError).errors).toEqual([{ path: "payload.body.items.1", message: `must not have more than ${MAX_JSON_ARRAY_LENGTH} elements` }]);
});

test("takes an array of exactly the limit, and a root array over it names the root", async () => {
  await expect(readJsonBody(jsonPost(JSON.stringify({ a: Array(MAX_JSON_ARRAY_LENGTH).fill(null) })), 1 << 20)).resolves.toBeDefined();
  expect(longArrayPath(Array(3).fill(0), 2)).toEqual([]);
});

test("walks a body nested 100,000 levels deep without overflowing the stack", () => {
  const deep = JSON.parse(`${"[".repeat(100_000)}[1,2,3]${"]".repeat(100_000)}`) as unknown;
  expect(longArrayPath(deep, 2)?.length).toBe(100_000);
  expect(longArrayPath(deep, 3)).toBeUndefined();
});
