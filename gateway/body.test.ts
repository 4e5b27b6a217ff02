import { expect, test } from "bun:test";
import { readLimited } from "./body.ts";
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
