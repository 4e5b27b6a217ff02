import { WebhookPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { checkHttpStatus } from "./http-response.ts";
import { isPrivateHost, rememberVerdicts, type AddressVerdicts, type Resolve } from "./private-address.ts";
import type { Sender } from "./types.ts";
import { webhookHeaders, webhookKey } from "./webhook-signature.ts";

export interface WebhookSenderOptions {
  /** `whsec_<base64>`; receivers verify with the same secret. */
  secret: string;
  timeoutMs: number;
  /** Dev/test only: allow loopback, private and link-local targets. */
  allowPrivate: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected for tests; the system resolver otherwise. */
  resolve?: Resolve;
}

/** Throws unless every address of `hostname` is public; a failed lookup is retryable (DNS outages pass). */
async function refusePrivate(hostname: string, verdicts: AddressVerdicts): Promise<void> {
  if (isPrivateHost(hostname)) throw new PermanentError(`refusing to call a private address (${hostname})`);
  let found: string | null;
  try {
    found = await verdicts.check(hostname);
  } catch (err) {
    throw new RetryableError(`could not resolve ${hostname}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  if (found !== null) throw new PermanentError(`refusing to call ${hostname}: it resolves to a private address (${found})`);
}

/**
 * Signed webhooks (Standard Webhooks). The notification id travels as
 * `webhook-id`, the receiver's dedupe key, which makes at-least-once
 * processing effectively-once for receivers that honour it.
 */
export function createWebhookSender(opts: WebhookSenderOptions): Sender {
  const key = webhookKey(opts.secret);
  const doFetch = opts.fetch ?? fetch;
  const verdicts = rememberVerdicts(opts.resolve);
  return {
    provider: "webhook",
    async send(n, ctx) {
      const parsed = WebhookPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid webhook payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const { url, body: json, headers: user } = parsed.data;
      const target = new URL(url);
      if (!opts.allowPrivate) await refusePrivate(target.hostname, verdicts);
      const body = JSON.stringify(json);
      const headers = webhookHeaders({ id: n.id, body, key, nowMs: Date.now(), user });
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      let res: Response;
      try {
        res = await doFetch(target, {
          method: "POST",
          body,
          headers,
          redirect: "manual",
          signal: AbortSignal.any([ctx.signal, timeout]),
        });
      } catch (err) {
        const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : `network error: ${err instanceof Error ? err.message : String(err)}`;
        throw new RetryableError(why, undefined, { cause: err });
      }
      // Release the connection; the answer's body is of no use to us.
      await res.body?.cancel().catch(() => undefined);
      checkHttpStatus(res.status, res.headers.get("retry-after"));
      return {};
    },
  };
}
