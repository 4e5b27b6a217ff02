import { describe, expect, test } from "bun:test";
import { signUnsubscribe, unsubscribeUrl, verifyUnsubscribe, type UnsubscribeClaims } from "./unsubscribe.ts";

const SECRET = "a test secret of at least thirty-two characters";
const NOW = Date.UTC(2026, 11, 8, 10, 0, 0);
const claims: UnsubscribeClaims = { tenantId: "acme", userId: "user-1", category: "news", channel: "email", exp: NOW / 1000 + 3600 };

describe("unsubscribe tokens", () => {
  test("verify to their claims, URL-safe and compact", async () => {
    const token = await signUnsubscribe(SECRET, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBeLessThan(200);
    expect(await verifyUnsubscribe(SECRET, token, NOW)).toEqual({ ok: true, claims });
  });

  test("are forged when signed with another secret or when the claims were changed", async () => {
    const token = await signUnsubscribe(SECRET, claims);
    expect(await verifyUnsubscribe("another secret of at least thirty-two chars!", token, NOW)).toEqual({ ok: false, reason: "forged" });
    const [, signature] = token.split(".");
    const tampered = Buffer.from(JSON.stringify({ ...claims, userId: "user-2" })).toString("base64url");
    expect(await verifyUnsubscribe(SECRET, `${tampered}.${signature}`, NOW)).toEqual({ ok: false, reason: "forged" });
    const at = token.length - 10;
    const flipped = `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`;
    expect(await verifyUnsubscribe(SECRET, flipped, NOW)).toEqual({ ok: false, reason: "forged" });
  });

  test("expire at exp", async () => {
    const token = await signUnsubscribe(SECRET, claims);
    expect((await verifyUnsubscribe(SECRET, token, claims.exp * 1000 - 1)).ok).toBe(true);
    expect(await verifyUnsubscribe(SECRET, token, claims.exp * 1000)).toEqual({ ok: false, reason: "expired" });
  });

  test("are malformed when not two base64url parts, or signed but not claims", async () => {
    for (const token of ["", "abc", "a.b.c", ".sig", "a.b$c"]) expect(await verifyUnsubscribe(SECRET, token, NOW)).toEqual({ ok: false, reason: "malformed" });
    const payload = Buffer.from(JSON.stringify({ tenantId: "acme" })).toString("base64url");
    const signature = (await signUnsubscribe(SECRET, claims)).split(".")[1];
    expect((await verifyUnsubscribe(SECRET, `${payload}.${signature}`, NOW)).ok).toBe(false);
  });

  test("make the gateway's link, whatever slash the public URL ends with", () => {
    expect(unsubscribeUrl("https://notify.example.com", "p.s")).toBe("https://notify.example.com/v1/unsubscribe/p.s");
    expect(unsubscribeUrl("https://notify.example.com/", "p.s")).toBe("https://notify.example.com/v1/unsubscribe/p.s");
  });
});
