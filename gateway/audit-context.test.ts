import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createMemoryStore } from "./store/memory.ts";
import { auditContext, peerAddress } from "./audit-context.ts";
import { resolveDeps, type GatewayDeps } from "./context.ts";

const deps = (clientAddress?: GatewayDeps["clientAddress"]) =>
  resolveDeps({
    keys: new Map(),
    store: createMemoryStore(),
    publisher: {} as GatewayDeps["publisher"],
    reader: {} as GatewayDeps["reader"],
    inbox: {} as GatewayDeps["inbox"],
    canceller: {} as GatewayDeps["canceller"],
    readiness: [],
    logger: {} as GatewayDeps["logger"],
    ...(clientAddress ? { clientAddress } : {}),
  });
const req = new Request("http://localhost/");

describe("auditContext", () => {
  test("names an admin route's actor, else the /v1 principal's, with the runtime's peer address", () => {
    const resolved = deps(() => "192.0.2.7");
    const principal = { tenant: "acme", keyId: "k-1", scopes: new Set<never>(), actor: "key:k-1" };
    expect(auditContext({ var: { deps: resolved, actor: "operator:ops" }, req: { raw: req } })).toEqual({ actor: "operator:ops", clientAddress: "192.0.2.7" });
    expect(auditContext({ var: { deps: resolved, principal }, req: { raw: req } })).toEqual({ actor: "key:k-1", clientAddress: "192.0.2.7" });
  });

  test("records no address where the runtime gives none, and refuses a route without a caller", () => {
    expect(auditContext({ var: { deps: deps(), actor: "cli" }, req: { raw: req } }).clientAddress).toBeNull();
    expect(() => auditContext({ var: { deps: deps() }, req: { raw: req } })).toThrow(/without authentication/);
  });

  test("peerAddress names an IPv4 peer of a dual-stack socket as IPv4 and keeps IPv6", () => {
    expect(peerAddress("::ffff:203.0.113.5")).toBe("203.0.113.5");
    expect(peerAddress("2001:db8::1")).toBe("2001:db8::1");
    expect(peerAddress("::1")).toBe("::1");
    expect(peerAddress("")).toBeUndefined();
    expect(peerAddress(undefined)).toBeUndefined();
  });

  test("takes the Hono context a route passes", async () => {
    const resolved = deps(() => "198.51.100.1");
    const app = new Hono<{ Variables: { deps: typeof resolved; actor: string } }>().get("/", (c) => {
      c.set("deps", resolved);
      c.set("actor", "operator:ops");
      return c.json(auditContext(c));
    });
    expect(await (await app.request("/")).json()).toEqual({ actor: "operator:ops", clientAddress: "198.51.100.1" });
  });
});
