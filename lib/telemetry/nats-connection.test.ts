import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { eventually } from "../../test/support/eventually.ts";
import { startPrivateNats, type PrivateNats } from "../../test/support/nats-server.ts";
import { connectNats } from "../nats/connect.ts";
import { createMetrics } from "./metrics.ts";
import { connectedAfter, watchNatsConnection } from "./nats-connection.ts";

let server: PrivateNats;
beforeAll(async () => {
  server = await startPrivateNats();
});
afterAll(async () => {
  await server.remove();
});

/** `herald_nats_connected` as the exposition text shows it. */
async function connected(m: ReturnType<typeof createMetrics>): Promise<number | undefined> {
  const line = (await m.render()).split("\n").find((l) => l.startsWith("herald_nats_connected "));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

test("reads disconnect and close as down, reconnect as up, and the rest as no change", () => {
  expect(connectedAfter({ type: "disconnect", server: "x" })).toBe(false);
  expect(connectedAfter({ type: "close" })).toBe(false);
  expect(connectedAfter({ type: "reconnect", server: "x" })).toBe(true);
  expect(connectedAfter({ type: "reconnecting" })).toBeUndefined();
  expect(connectedAfter({ type: "staleConnection" })).toBeUndefined();
});

test("drops to 0 while the real nats-server is gone, comes back to 1 when it is back, and ends at 0 on close", async () => {
  // Herald's own connection options (reconnect forever), with a short wait so the test does not.
  const nc = await connectNats(server.url, connect, { reconnectTimeWait: 100 });
  const m = createMetrics({ processMetrics: false });
  expect(await connected(m)).toBe(0);
  const lines: Array<{ level: string; msg: string; fields: { downMs?: number } }> = [];
  const log = {
    warn: (fields: object, msg: string) => void lines.push({ level: "warn", msg, fields }),
    info: (fields: object, msg: string) => void lines.push({ level: "info", msg, fields }),
  };
  const watching = watchNatsConnection(nc, m, log);
  expect(await connected(m)).toBe(1);

  await server.stop();
  await eventually(async () => (await connected(m)) === 0, { label: "herald_nats_connected 0 after the server was killed" });
  await server.start();
  await eventually(async () => (await connected(m)) === 1, { label: "herald_nats_connected 1 after the server restarted" });
  // One line when it dropped, one when it was back, with how long it was down.
  expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual(["warn NATS connection lost; reconnecting", "info NATS connection back"]);
  expect(lines[1]?.fields.downMs).toBeGreaterThan(0);

  await nc.close();
  await watching;
  expect(await connected(m)).toBe(0);
});
