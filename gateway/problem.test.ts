import { expect, test } from "bun:test";
import { Hono } from "hono";
import type { BaseEnv } from "./context.ts";
import { AppError } from "./errors.ts";
import { handleError } from "./problem.ts";
import { openPool } from "../lib/db/pool.ts";
import { freePort } from "../lib/probe.ts";
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

test("Postgres unreachable is an outage: 503 with Retry-After, logged at warn, never reported as a bug", async () => {
  // The real error: a query to a loopback port nothing listens on.
  const pool = openPool(`postgres://postgres@127.0.0.1:${freePort()}/nowhere`, { max: 1 });
  const err = await pool.sql.run("select 1", []).then(
    () => new Error("expected a refused connection"),
    (e: unknown) => e as Error,
  );
  await pool.close();
  const { app, lines } = appLogging(err);
  const res = await app.request("/v1/notifications", { method: "POST" });
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("2");
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { type: string; detail: string };
  expect(body.type).toBe("https://herald.dev/problems/unavailable");
  expect(body.detail).not.toContain("127.0.0.1");
  expect(lines.map((l) => l.level)).toEqual([40]);
});
