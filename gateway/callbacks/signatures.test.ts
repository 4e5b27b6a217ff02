import { describe, expect, test } from "bun:test";
import { signTwilio, svixHeaders } from "../../test/support/provider-signatures.ts";
import { isAppError } from "../errors.ts";
import { constantTimeEqual, twilioSignature, verifyResend, verifyTwilio, type SvixHeaders } from "./signatures.ts";

// Twilio's documented example of a signed request (its security docs and its libraries' tests).
const VECTOR = {
  authToken: "12345",
  url: "https://mycompany.com/myapp.php?foo=1&bar=2",
  params: { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" },
  signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
};

async function refusal(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (isAppError(err)) return `${err.status} ${err.code}`;
    throw err;
  }
  return "accepted";
}

describe("Twilio's signature", () => {
  test("the gateway's Web Crypto signer and the test signer both produce Twilio's documented example", async () => {
    expect(await twilioSignature(VECTOR.authToken, VECTOR.url, Object.entries(VECTOR.params))).toBe(VECTOR.signature);
    expect(signTwilio(VECTOR.authToken, VECTOR.url, VECTOR.params)).toBe(VECTOR.signature);
  });

  test("sorts by name in code-unit order whatever order the form came in, and signs non-ASCII values as UTF-8", async () => {
    const params = { b: "é ü", B: "x", a: "+1 555", MessageStatus: "delivered" };
    const shuffled = new URLSearchParams([...Object.entries(params)].reverse());
    expect(await twilioSignature("tok", "https://h.example/cb", shuffled)).toBe(signTwilio("tok", "https://h.example/cb", params));
  });

  test("verifies the real signature and refuses a missing, forged or other-URL one as 401", async () => {
    const form = new URLSearchParams(VECTOR.params);
    expect(await refusal(() => verifyTwilio(VECTOR.authToken, VECTOR.url, form, VECTOR.signature))).toBe("accepted");
    expect(await refusal(() => verifyTwilio(VECTOR.authToken, VECTOR.url, form, undefined))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyTwilio(VECTOR.authToken, VECTOR.url, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8+"))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyTwilio(VECTOR.authToken, "https://mycompany.com/myapp.php", form, VECTOR.signature))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyTwilio("54321", VECTOR.url, form, VECTOR.signature))).toBe("401 invalid_signature");
  });

  test("constantTimeEqual tells equal strings from different ones of any length", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});

describe("Resend's (Svix) signature", () => {
  const secret = `whsec_${btoa("a test secret of 24 bytes")}`;
  const body = JSON.stringify({ type: "email.delivered", data: { email_id: "e-1" } });
  const headers = (at: Date, sign = secret) => svixHeaders(sign, body, at) as unknown as SvixHeaders;

  test("accepts what the Standard Webhooks library signs under the svix-* names, within five minutes either way", async () => {
    expect(await refusal(() => verifyResend(secret, body, headers(new Date())))).toBe("accepted");
    expect(await refusal(() => verifyResend(secret, body, headers(new Date(Date.now() - 4 * 60_000))))).toBe("accepted");
  });

  test("refuses an unsigned, forged, stale or future-stamped event, and a body changed after signing, as 401", async () => {
    const now = headers(new Date());
    expect(await refusal(() => verifyResend(secret, body, { "svix-id": undefined, "svix-timestamp": undefined, "svix-signature": undefined }))).toBe(
      "401 invalid_signature",
    );
    expect(await refusal(() => verifyResend(secret, body, headers(new Date(), `whsec_${btoa("another secret, 24 bytes")}`)))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyResend(secret, body, headers(new Date(Date.now() - 6 * 60_000))))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyResend(secret, body, headers(new Date(Date.now() + 6 * 60_000))))).toBe("401 invalid_signature");
    expect(await refusal(() => verifyResend(secret, body.replace("e-1", "e-2"), now))).toBe("401 invalid_signature");
  });

  test("a secret that does not decode turns the route off (503), never a 500", async () => {
    expect(await refusal(() => verifyResend("whsec_%%%", body, headers(new Date())))).toBe("503 unavailable");
  });
});
