// How providers sign their callbacks, for tests that play the provider.
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** Twilio's `X-Twilio-Signature`, on node:crypto: written apart from the gateway's Web Crypto signer, so each checks the other. */
export function signTwilio(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, name) => acc + name + params[name], url);
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/** The `svix-*` headers Resend sends with `body`, signed by the Standard Webhooks library at `at`. */
export function svixHeaders(secret: string, body: string, at: Date = new Date(), id = `msg_${crypto.randomUUID()}`): Record<string, string> {
  return { "svix-id": id, "svix-timestamp": String(Math.floor(at.getTime() / 1000)), "svix-signature": new Webhook(secret).sign(id, at, body) };
}
