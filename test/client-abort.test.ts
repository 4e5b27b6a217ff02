// A client that leaves mid-body is its own doing: not an error in the logs nor a 5xx that would page someone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { createMetrics } from "../lib/telemetry/metrics.ts";
import { createApp } from "../gateway/app.ts";
import { serveGateway } from "../gateway/runtime/bun/serve.ts";
import { TENANT_KEY } from "./support/constants.ts";
import { createAppFixture, VALID, type AppFixture } from "./support/gateway-fixture.ts";
import { captureLogs } from "./support/loggers.ts";

let fx: AppFixture;
let server: ReturnType<typeof serveGateway>;
const { logger, lines: logs } = captureLogs("info");
const metrics = createMetrics({ processMetrics: false });

beforeAll(async () => {
  fx = await createAppFixture();
  const app = createApp({ ...fx.deps, logger, metrics, metricsPage: metrics });
  metrics.initSeries({ routes: app.routes });
  server = serveGateway(app, { port: 0, hostname: "127.0.0.1" });
});
afterAll(async () => {
  await server.stop(true);
  await fx.cleanup();
});

/** Sends 20 bytes of a declared 1,000-byte body, then closes or stalls; resolves with the ms until the close and what the server wrote. */
function partialPost(then: "close" | "stall"): Promise<{ ms: number; answer: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = connect(server.port ?? 0, "127.0.0.1", () => {
      socket.write(
        `POST /v1/notifications HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer ${TENANT_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n` +
          JSON.stringify(VALID.email).slice(0, 20),
      );
      if (then === "close") setTimeout(() => socket.end(), 200);
    });
    socket.on("data", (d) => (answer += String(d)));
    socket.on("close", () => resolve({ ms: performance.now() - started, answer }));
    socket.on("error", reject);
  });
}

function sample(page: string, series: string): number | undefined {
  const line = page.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("a client that closes mid-body or stalls past the idle timeout is logged at info and counted as 499, not 5xx", async () => {
  const [closed, stalled] = await Promise.all([partialPost("close"), partialPost("stall")]);
  expect(closed.answer).toBe("");
  expect(stalled.answer).toBe("");
  expect(stalled.ms).toBeGreaterThan(5_000); // the server's idle timeout closed it, not the test

  // The handler's error path runs just after the socket closes.
  for (let i = 0; i < 50 && logs.filter((l) => l.msg === "client closed request").length < 2; i++) await Bun.sleep(20);
  const aborts = logs.filter((l) => l.msg === "client closed request");
  expect(aborts.map((l) => ({ level: l.level, path: l.path }))).toEqual([
    { level: 30, path: "/v1/notifications" },
    { level: 30, path: "/v1/notifications" },
  ]);
  expect(logs.filter((l) => Number(l.level) >= 40)).toEqual([]);

  const page = await metrics.render();
  expect(sample(page, 'herald_http_requests_total{route="/v1/notifications",method="POST",status_class="5xx"}')).toBe(0);
  expect(sample(page, 'herald_http_requests_total{route="/v1/notifications",method="POST",status_class="4xx"}')).toBe(2);
  expect(await fx.count()).toBe(0);
}, 30_000);
