import { expect, test } from "bun:test";
import type { ConnectionOptions } from "@nats-io/nats-core";
import { connectNats, isWebSocketUrl, natsServers } from "./connect.ts";

test("ws:// and wss:// are NATS's WebSocket listener; nats://, tls:// and bare host:port are its TCP protocol", () => {
  expect(["ws://127.0.0.1:8443", "WSS://nats.example.com", " ws://x:1"].map(isWebSocketUrl)).toEqual([true, true, true]);
  expect(["nats://127.0.0.1:4222", "tls://nats:4222", "127.0.0.1:4222", "wsx://a"].map(isWebSocketUrl)).toEqual([false, false, false, false]);
});

test("a TCP URL goes to the runtime's TCP connect with Herald's options; without one it is refused, naming the fix", async () => {
  const seen: ConnectionOptions[] = [];
  const tcp = async (opts: ConnectionOptions) => {
    seen.push(opts);
    throw new Error("no server in this test");
  };
  await expect(connectNats("nats://127.0.0.1:4222", tcp)).rejects.toThrow("no server in this test");
  expect(seen).toEqual([{ servers: ["nats://127.0.0.1:4222"], name: "herald", maxReconnectAttempts: -1, reconnectTimeWait: 500 }]);
  await expect(connectNats("nats://127.0.0.1:4222", undefined)).rejects.toThrow("NATS_URL must be ws:// or wss:// here");
});

test("a comma-separated NATS_URL is several servers of one cluster, handed to the client as a list", async () => {
  expect(natsServers(" nats://a:4222, nats://b:4222,,nats://c:4222 ")).toEqual(["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
  const seen: ConnectionOptions[] = [];
  const tcp = async (opts: ConnectionOptions) => {
    seen.push(opts);
    throw new Error("no server in this test");
  };
  await expect(connectNats("nats://a:4222,nats://b:4222", tcp)).rejects.toThrow("no server in this test");
  expect(seen[0]?.servers).toEqual(["nats://a:4222", "nats://b:4222"]);
});
