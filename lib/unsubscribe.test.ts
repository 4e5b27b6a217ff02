import { describe, expect, test } from "bun:test";
import { createInboxTokens } from "./inbox-token.ts";
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
    const tampered = Buffer.from(JSON.stringify({ t: "acme", u: "user-2", c: "news", ch: "email", exp: claims.exp })).toString("base64url");
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
    const [payload = ""] = (await signUnsubscribe(SECRET, { ...claims, channel: "fax" as "email" })).split(".");
    expect(Buffer.from(payload, "base64url").toString()).toContain('"ch":"fax"');
    const signed = await signUnsubscribe(SECRET, { ...claims, channel: "fax" as "email" });
    expect(await verifyUnsubscribe(SECRET, signed, NOW)).toEqual({ ok: false, reason: "malformed" });
  });

  test("an inbox stream token made with the same secret is not an unsubscribe link", async () => {
    const { token } = await createInboxTokens(SECRET).mint("acme", "user-1", 3600, NOW);
    const [, claimsPart, mac] = token.split(".");
    expect((await verifyUnsubscribe(SECRET, `${claimsPart}.${mac}`, NOW)).ok).toBe(false);
  });

  test("make the gateway's link, whatever slash the public URL ends with", () => {
    expect(unsubscribeUrl("https://notify.example.com", "p.s")).toBe("https://notify.example.com/v1/unsubscribe/p.s");
    expect(unsubscribeUrl("https://notify.example.com/", "p.s")).toBe("https://notify.example.com/v1/unsubscribe/p.s");
  });
});
