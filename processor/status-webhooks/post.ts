import { openSecrets } from "../../lib/db/webhook-endpoints.ts";
import type { AttemptResult, ClaimedDelivery } from "../../lib/db/webhook-deliveries.ts";
import { refusedTarget } from "../../lib/webhook-target.ts";
import type { AddressVerdicts } from "../channels/private-address.ts";
import { postToRoutes, routesOf } from "../channels/webhook.ts";
import { webhookHeaders, webhookKey } from "../channels/webhook-signature.ts";

/** The start of an answer's body kept with the attempt: enough to see an error page's message. */
const RESPONSE_BODY_LIMIT = 1024;

export interface PostDeps {
  /** The key endpoint secrets are sealed under; none: HERALD_TOKEN_SECRET is not set and nothing can be signed. */
  sealingKey: CryptoKey | undefined;
  verdicts: AddressVerdicts;
  allowPrivate: boolean;
  timeoutMs: number;
  signal: AbortSignal;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/**
 * One attempt of a delivery: the event JSON, signed with the endpoint's
 * secrets (the previous one too while its grace lasts), `webhook-id` the
 * delivery's id on every attempt so receivers dedupe. 2xx is success;
 * redirects are not followed. Never throws: every failure is a result.
 */
export async function postDelivery(d: ClaimedDelivery, deps: PostDeps): Promise<AttemptResult> {
  const started = performance.now();
  const failed = (error: string, statusCode: number | null = null, responseBody: string | null = null): AttemptResult => ({
    ok: false,
    statusCode,
    latencyMs: performance.now() - started,
    error,
    responseBody,
  });
  try {
    const target = new URL(d.url);
    const refused = refusedTarget(target, deps.allowPrivate);
    if (refused !== null) return failed(`refused: the URL ${refused}`);
    if (deps.sealingKey === undefined) return failed("cannot sign: HERALD_TOKEN_SECRET is not set on the processor");
    const secrets = await openSecrets(deps.sealingKey, {
      id: d.endpointId,
      tenantId: d.tenantId,
      secret: d.secret,
      previousSecret: d.previousSecret,
      previousSecretExpiresAt: d.previousSecretExpiresAt,
    });
    const keys = [secrets.secret, secrets.previous?.secret ?? null].filter((s): s is string => s !== null).map(webhookKey);
    if (secrets.secret === null) return failed("cannot sign: the endpoint's secret was sealed under another HERALD_TOKEN_SECRET; rotate it");
    const routes = await routesOf(target, deps.verdicts, deps.allowPrivate);
    const body = JSON.stringify(d.event);
    const headers = webhookHeaders({ id: d.id, body, keys, nowMs: Date.now() });
    const res = await postToRoutes(routes, { body, headers, signal: deps.signal, timeoutMs: deps.timeoutMs, doFetch: deps.fetch ?? fetch });
    const text = await readPrefix(res, RESPONSE_BODY_LIMIT);
    if (res.status >= 200 && res.status < 300)
      return { ok: true, statusCode: res.status, latencyMs: performance.now() - started, error: null, responseBody: text };
    return failed(`HTTP ${res.status}`, res.status, text);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
}

/** Up to `limit` characters of the body, then the connection is let go. */
async function readPrefix(res: Response, limit: number): Promise<string | null> {
  if (res.body === null) return null;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut off mid-way keeps what arrived.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text === "" ? null : text.slice(0, limit);
}
