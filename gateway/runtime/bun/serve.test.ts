import { expect, test } from "bun:test";
import { sha256Hex } from "../../body.ts";
import { Hono } from "hono";
import type { BaseEnv } from "../../context.ts";
import { bunClientAddress, bunSha256Hex, serveGateway } from "./serve.ts";

test("the native body hash equals the Web Crypto one, so records stay readable across runtimes", async () => {
  const bodies = ["", '{"userId":"u","channel":"in_app"}', "déjà vu ✓ 😀".repeat(500)].map((s) => new TextEncoder().encode(s));
  for (const bytes of bodies) expect(bunSha256Hex(bytes)).toBe(await sha256Hex(bytes));
});

test("the client address is the TCP peer, never a forwarded header, and unknown before the server is bound", async () => {
  const peers = bunClientAddress();
  const seen: Array<string | undefined> = [];
  const app = new Hono<BaseEnv>().get("/", (c) => {
    seen.push(peers.clientAddress(c.req.raw));
    return c.text("ok");
  });
  expect(peers.clientAddress(new Request("http://localhost/"))).toBeUndefined();
  const server = serveGateway(app, { port: 0, hostname: "127.0.0.1" });
  peers.bind(server);
  try {
    await fetch(`http://127.0.0.1:${server.port}/`, { headers: { "x-forwarded-for": "203.0.113.9", forwarded: "for=203.0.113.9" } });
    expect(seen).toEqual(["127.0.0.1"]);
  } finally {
    await server.stop(true);
  }
});
