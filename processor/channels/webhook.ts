import { WebhookPayload } from "../../schemas/request.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { checkHttpStatus } from "./http-response.ts";
import { connectOrder, isIpLiteral, isPrivateHost, rememberVerdicts, type AddressVerdicts, type HostVerdict, type Resolve } from "./private-address.ts";
import type { OutboundNotification, Sender } from "./types.ts";
import type { TenantSigningKeys } from "./webhook-keys.ts";
import { webhookHeaders, webhookKey } from "./webhook-signature.ts";

export interface WebhookSenderOptions {
  /** `whsec_<base64>` (HERALD_WEBHOOK_SECRET): signs the webhooks of tenants without secrets of their own. */
  secret: string;
  /** Each tenant's own secrets (`/v1/webhook-secrets`); none: every webhook is signed with `secret`. */
  tenantKeys?: TenantSigningKeys;
  timeoutMs: number;
  /** Dev/test only: allow loopback, private and link-local targets. */
  allowPrivate: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected for tests; the system resolver otherwise. */
  resolve?: Resolve;
  /** Injected for tests: the CA that signed a test receiver's certificate; the system's CAs otherwise. */
  ca?: string;
}

/**
 * Where one webhook goes. A URL naming a host is sent to the address that
 * was checked, not to the name: `url` carries that address, while `host`
 * (the Host header) and `serverName` (TLS SNI and the certificate's name
 * check) keep the name. So a DNS answer that changes between the check and
 * the connection (rebinding to 169.254.169.254) cannot move the connection.
 */
export interface WebhookRoute {
  url: URL;
  /** Set when the URL was pinned to an address: the Host header to send. */
  host?: string;
  /** Set for a pinned https URL: the name the certificate must carry. */
  serverName?: string;
}

/** `target` sent to `address` instead of its host name. */
export function pinnedRoute(target: URL, address: string): WebhookRoute {
  const url = new URL(target);
  url.hostname = address.includes(":") ? `[${address}]` : address;
  const route: WebhookRoute = { url, host: target.host };
  if (target.protocol === "https:") route.serverName = target.hostname.replace(/\.$/, "");
  return route;
}

/**
 * Checks the target and decides where to connect, in the order to try. Unless
 * private targets are allowed, a private literal or a name with any private
 * address is refused (permanently); a failed lookup is retryable (DNS outages pass).
 */
export async function routesOf(target: URL, verdicts: AddressVerdicts, allowPrivate: boolean): Promise<WebhookRoute[]> {
  if (!allowPrivate && isPrivateHost(target.hostname)) throw new PermanentError(`refusing to call a private address (${target.hostname})`);
  if (isIpLiteral(target.hostname)) return [{ url: target }];
  let verdict: HostVerdict;
  try {
    verdict = await verdicts.check(target.hostname);
  } catch (err) {
    throw new RetryableError(`could not resolve ${target.hostname}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  if (!allowPrivate && verdict.privateAddress !== null) {
    throw new PermanentError(`refusing to call ${target.hostname}: it resolves to a private address (${verdict.privateAddress})`);
  }
  if (verdict.addresses.length === 0) throw new RetryableError(`${target.hostname} resolved to no address`);
  return connectOrder(verdict.addresses).map((address) => pinnedRoute(target, address));
}

/** A connection that was never made (nothing was sent), so the next address may be tried. */
function neverConnected(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH";
}

/** How one POST goes out: its body and headers, the caller's signal, the timeout, and the fetch and CA (tests inject both). */
export interface PostOptions {
  body: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
  doFetch: typeof fetch;
  ca?: string;
}

/**
 * POSTs to the first of `routes` that takes the connection, redirects not
 * followed; a network error or the timeout is retryable.
 */
export async function postToRoutes(routes: readonly WebhookRoute[], opts: PostOptions): Promise<Response> {
  const { body, headers } = opts;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  let res: Response | undefined;
  for (let i = 0; res === undefined; i++) {
    const route = routes[i] as WebhookRoute;
    // After the user's headers, so none of them can name another host.
    if (route.host !== undefined) headers.host = route.host;
    const tls = { ...(route.serverName !== undefined ? { serverName: route.serverName } : {}), ...(opts.ca !== undefined ? { ca: opts.ca } : {}) };
    try {
      res = await opts.doFetch(route.url, { method: "POST", body, headers, redirect: "manual", signal, ...(Object.keys(tls).length > 0 ? { tls } : {}) });
    } catch (err) {
      // Refused or unreachable: nothing was sent, so the name's next address may answer.
      if (i + 1 < routes.length && neverConnected(err) && !signal.aborted) continue;
      const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : `network error: ${err instanceof Error ? err.message : String(err)}`;
      throw new RetryableError(why, undefined, { cause: err });
    }
  }
  return res;
}

/**
 * Signed webhooks (Standard Webhooks). The notification id travels as
 * `webhook-id`, the receiver's dedupe key, which makes at-least-once
 * processing effectively-once for receivers that honour it.
 */
export function createWebhookSender(opts: WebhookSenderOptions): Sender {
  const deployment = [webhookKey(opts.secret)];
  const { tenantKeys } = opts;
  /** The tenant's keys, or the deployment's when it has none; synchronous while they are cached. */
  const keysOf = (tenant: string): readonly Buffer[] | Promise<readonly Buffer[]> => {
    if (tenantKeys === undefined) return deployment;
    const own = tenantKeys.keysOf(tenant);
    if (own instanceof Promise) return own.then((keys) => (keys.length > 0 ? keys : deployment));
    return own.length > 0 ? own : deployment;
  };
  const doFetch = opts.fetch ?? fetch;
  const verdicts = rememberVerdicts(opts.resolve);
  return {
    provider: "webhook",
    ...(tenantKeys ? { prepare: (batch: readonly OutboundNotification[]) => tenantKeys.prepare(batch.map((n) => n.tenantId)) } : {}),
    async send(n, ctx) {
      const parsed = WebhookPayload.safeParse(n.payload);
      if (!parsed.success) throw new PermanentError(`invalid webhook payload: ${parsed.error.issues[0]?.message ?? "unknown"}`);
      const { url, body: json, headers: user } = parsed.data;
      const routes = await routesOf(new URL(url), verdicts, opts.allowPrivate);
      // After the target check: a refused URL stays a permanent failure whatever the keys' store says.
      const found = keysOf(n.tenantId);
      const keys = found instanceof Promise ? await found : found;
      const body = JSON.stringify(json);
      const headers = webhookHeaders({ id: n.id, body, keys, nowMs: Date.now(), user });
      const res = await postToRoutes(routes, {
        body,
        headers,
        signal: ctx.signal,
        timeoutMs: opts.timeoutMs,
        doFetch,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      });
      // Release the connection; the answer's body is of no use to us.
      await res.body?.cancel().catch(() => undefined);
      checkHttpStatus(res.status, res.headers.get("retry-after"));
      return {};
    },
  };
}
