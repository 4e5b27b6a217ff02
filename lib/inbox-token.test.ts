import { describe, expect, test } from "bun:test";
import { createInboxTokens } from "./inbox-token.ts";

const SECRET = "s".repeat(32);
const tokens = createInboxTokens(SECRET);
const NOW = Date.UTC(2026, 10, 26, 6, 0, 0);

describe("inbox tokens", () => {
  test("a minted token verifies with its tenant, user and expiry", async () => {
    const { token, expiresAt } = await tokens.mint("acme", "user-1", 900, NOW);
    expect(expiresAt).toBe(new Date(NOW + 900_000).toISOString());
    expect(await tokens.verify(token, NOW + 1000)).toEqual({ ok: true, claims: { tenant: "acme", userId: "user-1", exp: (NOW + 900_000) / 1000 } });
  });

  test("refuses a token once it expired", async () => {
    const { token } = await tokens.mint("acme", "user-1", 60, NOW);
    expect(await tokens.verify(token, NOW + 59_999)).toMatchObject({ ok: true });
    expect(await tokens.verify(token, NOW + 60_000)).toEqual({ ok: false, reason: "expired" });
  });

  test("refuses a token signed with another secret as forged", async () => {
    const { token } = await createInboxTokens("x".repeat(32)).mint("acme", "user-1", 900, NOW);
    expect(await tokens.verify(token, NOW)).toEqual({ ok: false, reason: "forged" });
  });

  test("refuses claims swapped for another tenant's or user's, or a later expiry", async () => {
    const { token } = await tokens.mint("acme", "user-1", 900, NOW);
    const [version, , mac] = token.split(".");
    for (const claims of [
      { t: "beta", u: "user-1", exp: NOW / 1000 + 900 },
      { t: "acme", u: "user-2", exp: NOW / 1000 + 900 },
      { t: "acme", u: "user-1", exp: NOW / 1000 + 90_000 },
    ]) {
      const tampered = `${version}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${mac}`;
      expect(await tokens.verify(tampered, NOW)).toEqual({ ok: false, reason: "forged" });
    }
  });

  test("a token minted for another tenant reads only that tenant", async () => {
    const { token } = await tokens.mint("beta", "user-1", 900, NOW);
    expect(await tokens.verify(token, NOW)).toMatchObject({ ok: true, claims: { tenant: "beta", userId: "user-1" } });
  });

  test("refuses a flipped MAC bit, a truncated token and what is not a token at all", async () => {
    const { token } = await tokens.mint("acme", "user-1", 900, NOW);
    const last = token.at(-2) === "A" ? "B" : "A";
    expect(await tokens.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`, NOW)).toEqual({ ok: false, reason: "forged" });
    expect(await tokens.verify(token.slice(0, token.lastIndexOf(".")), NOW)).toEqual({ ok: false, reason: "malformed" });
    for (const junk of ["", "hk_live_api_key", "v1..", "v2.a.b", `${token}.x`, "v1.@@@.###"]) {
      expect((await tokens.verify(junk, NOW)).ok).toBe(false);
    }
  });

  test("ids with dots, spaces and non-ASCII letters survive the round trip", async () => {
    const { token } = await tokens.mint("acme", "zoë.müller @home", 900, NOW);
    expect(await tokens.verify(token, NOW)).toMatchObject({ ok: true, claims: { userId: "zoë.müller @home" } });
  });
});
