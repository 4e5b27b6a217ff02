import { expect, test } from "bun:test";
import { Hono } from "hono";
import type { BaseEnv } from "./context.ts";
import { AppError } from "./errors.ts";
import { handleError } from "./problem.ts";
import { captureLogs } from "../test/support/loggers.ts";

function appLogging(err: Error) {
  const { logger, lines } = captureLogs("info");
  const app = new Hono<BaseEnv>();
  app.post("/v1/notifications", () => {
    throw err;
  });
  app.onError((e, c) => handleError(e, c, logger));
  return { app, lines };
}

test("answers 499 for a client that went away and logs it at info, not as an error", async () => {
  const { app, lines } = appLogging(new AppError("client_closed_request", { cause: new DOMException("The connection was closed.", "AbortError") }));
  const res = await app.request("/v1/notifications", { method: "POST" });
  expect(res.status).toBe(499);
  expect(lines.map((l) => ({ level: l.level, msg: l.msg, reason: l.reason, path: l.path }))).toEqual([
    { level: 30, msg: "client closed request", reason: "The connection was closed.", path: "/v1/notifications" },
  ]);
});

test("logs an unexpected throw at error and answers an opaque 500", async () => {
  const { app, lines } = appLogging(new Error("db exploded"));
  const res = await app.request("/v1/notifications", { method: "POST" });
  expect(res.status).toBe(500);
  expect(((await res.json()) as { detail: string }).detail).toBe("Internal server error");
  expect(lines.map((l) => l.level)).toEqual([50]);
});
