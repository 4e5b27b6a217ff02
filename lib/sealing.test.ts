import { describe, expect, test } from "bun:test";
import { seal, sealingKey, unseal } from "./sealing.ts";

const SECRET = "t".repeat(32);

describe("sealing", () => {
  test("a sealed value opens with the same secret, purpose and context, and does not show its plaintext", async () => {
    const key = await sealingKey(SECRET, "webhook secrets");
    const sealed = await seal(key, "whsec_c2VjcmV0", "acme:1");
    expect(sealed).toStartWith("v1.");
    expect(sealed).not.toContain("whsec_");
    expect(await unseal(key, sealed, "acme:1")).toBe("whsec_c2VjcmV0");
  });

  test("sealing twice gives two different values (a fresh IV each time)", async () => {
    const key = await sealingKey(SECRET, "webhook secrets");
    expect(await seal(key, "same", "ctx")).not.toBe(await seal(key, "same", "ctx"));
  });

  test("does not open under another secret, another purpose or another context", async () => {
    const key = await sealingKey(SECRET, "webhook secrets");
    const sealed = await seal(key, "whsec_c2VjcmV0", "acme:1");
    expect(await unseal(await sealingKey("u".repeat(32), "webhook secrets"), sealed, "acme:1")).toBeNull();
    expect(await unseal(await sealingKey(SECRET, "something else"), sealed, "acme:1")).toBeNull();
    expect(await unseal(key, sealed, "beta:1")).toBeNull();
  });

  test("refuses what is not a sealed value, or was altered", async () => {
    const key = await sealingKey(SECRET, "webhook secrets");
    const sealed = await seal(key, "whsec_c2VjcmV0", "ctx");
    const [v, iv, body] = sealed.split(".");
    const flipped = `${body?.[0] === "A" ? "B" : "A"}${body?.slice(1)}`;
    for (const bad of ["", "whsec_c2VjcmV0", `v2.${iv}.${body}`, `v1.${iv}`, `${v}.${iv}.${flipped}`, `${v}.AAAA.${body}`, `${sealed}.x`]) {
      expect(await unseal(key, bad, "ctx")).toBeNull();
    }
  });

  test("derives the key once per secret and purpose", () => {
    expect(sealingKey(SECRET, "webhook secrets")).toBe(sealingKey(SECRET, "webhook secrets"));
    expect(sealingKey(SECRET, "webhook secrets")).not.toBe(sealingKey(SECRET, "other"));
  });
});
