import { OPERATIONS, type OperationId, type Operations } from "./contract.ts";
import { errorFromResponse, type HeraldError, HeraldNetworkError, HeraldTimeoutError } from "./errors.ts";
import { DEFAULT_RETRY, delayBefore, isRetryable, newIdempotencyKey, type RetryOptions, sleep } from "./retry.ts";

/** What the client is built with. */
export interface HeraldClientOptions {
  /** The gateway's origin, e.g. `https://herald.example.com`; a path prefix is kept. */
  baseUrl: string;
  /** `Authorization: Bearer <apiKey>`: a tenant's key, or an operator's for the admin routes. */
  apiKey: string;
  /** Defaults to the global `fetch`; pass one to add a proxy, logging or a test double. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Deadline of each call, retries and waits included. Default 30,000 ms. */
  timeoutMs?: number;
  /** Sent with every request (a User-Agent, a tracing header). */
  headers?: Record<string, string>;
  /** Told before each retry, e.g. to log it. */
  onRetry?: (info: RetryInfo) => void;
}

/** One retry about to happen. */
export interface RetryInfo {
  operation: OperationId;
  /** The attempt about to start (2 for the first retry). */
  attempt: number;
  delayMs: number;
  error: HeraldError;
  idempotencyKey: string | undefined;
}

/** Per-call settings. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's deadline for this call. */
  timeoutMs?: number;
  /** Overrides the client's attempts for this call. */
  maxAttempts?: number;
  /** Your correlation id (`X-Request-Id`), echoed in the answer, the logs and any error. */
  requestId?: string;
}

/** A send's settings: the call's, and its Idempotency-Key (a new UUID when left out, reused by every retry). */
export interface SendOptions extends CallOptions {
  idempotencyKey?: string;
}

/** An operation's arguments: its path parameters, query and body. */
export interface CallArgs<O extends OperationId> {
  params?: Operations[O]["params"];
  query?: Operations[O]["query"];
  body?: Operations[O]["body"];
}

const SAFE_METHODS = new Set(["GET", "PUT", "DELETE"]);

function urlFor(base: string, path: string, params: Record<string, string>, query: Record<string, unknown> | undefined): string {
  const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${path}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) search.set(k, String(v));
  const qs = search.toString();
  return `${base.replace(/\/+$/, "")}${filled}${qs === "" ? "" : `?${qs}`}`;
}

async function parseBody(res: Response): Promise<unknown> {
  const text = await res.text();
  return text === "" ? undefined : JSON.parse(text);
}

/** Sends one operation with retries, deadline and abort; resolves to its parsed answer or throws a `HeraldError`. */
export async function call<O extends OperationId>(
  client: HeraldClientOptions,
  op: O,
  args: CallArgs<O>,
  opts: SendOptions = {},
): Promise<Operations[O]["response"]> {
  const info = OPERATIONS[op];
  const url = urlFor(client.baseUrl, info.path, (args.params ?? {}) as Record<string, string>, args.query as Record<string, unknown> | undefined);
  const headers: Record<string, string> = { ...client.headers, authorization: `Bearer ${client.apiKey}`, accept: "application/json" };
  if (args.body !== undefined) headers["content-type"] = "application/json";
  if (opts.requestId !== undefined) headers["x-request-id"] = opts.requestId;
  // One key for every attempt of this call: a retry can only replay the first answer, never send twice.
  const idempotencyKey = info.idempotencyKey ? (opts.idempotencyKey ?? newIdempotencyKey()) : undefined;
  if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
  const body = args.body === undefined ? undefined : JSON.stringify(args.body);
  const retry = { ...DEFAULT_RETRY, ...client.retry, ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }) };
  const repeatable = SAFE_METHODS.has(info.method) || idempotencyKey !== undefined;
  const fetcher = client.fetch ?? globalThis.fetch;

  // One signal for the whole call: the caller's abort, or the deadline.
  const timeoutMs = opts.timeoutMs ?? client.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const timer = setTimeout(() => controller.abort(new HeraldTimeoutError(`${op}: no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    for (let attempt = 1; ; attempt++) {
      let error: HeraldError;
      try {
        const res = await fetcher(url, { method: info.method, headers, body, signal: controller.signal });
        if (res.ok) return (await parseBody(res)) as Operations[O]["response"];
        error = await errorFromResponse(res);
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason;
        error = new HeraldNetworkError(`${op}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (attempt >= retry.maxAttempts || !isRetryable(error, repeatable)) throw error;
      const delayMs = delayBefore(attempt, error, retry);
      // A wait that would end past the deadline cannot help: the gateway's answer is the better error.
      if (Date.now() + delayMs >= deadline) throw error;
      client.onRetry?.({ operation: op, attempt: attempt + 1, delayMs, error, idempotencyKey });
      await sleep(delayMs, controller.signal);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
