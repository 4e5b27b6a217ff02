import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { PushPayload } from "../../schemas/request.ts";
import { createProviderTokens } from "./apns-token.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { classifyApnsFailure } from "./push-apns-errors.ts";
import type { Sender } from "./types.ts";

export interface ApnsSenderOptions {
  /** The signing key's 10-character key id (the JWT's `kid`). */
  keyId: string;
  /** The 10-character team id (the JWT's `iss`). */
  teamId: string;
  /** The `.p8` PEM text (PKCS#8, EC P-256); `loadApnsKey` reads and checks it. */
  privateKey: string;
  /** The app's bundle id, sent as `apns-topic`. */
  topic: string;
  /** Bounds one notification: signing, connecting and the answer together. */
  timeoutMs: number;
  /** APNs origin; default `https://api.push.apple.com` (`https://api.sandbox.push.apple.com` for development builds). */
  baseUrl?: string;
  /** For tests: trust the peer's self-signed certificate. */
  tls?: { ca?: string };
  /** Injected for tests: epoch milliseconds. */
  now?: () => number;
}

/** A session and the moment its peer's SETTINGS arrived. */
type Connection = { session: ClientHttp2Session; ready: Promise<void> };
type Answer = { status: number; headers: IncomingHttpHeaders; text: string };

/** Hex of the device token's bytes; Apple warns the length may grow, so longer tokens pass. */
const DEVICE_TOKEN = /^[0-9a-fA-F]{64,200}$/;
/** How long APNs keeps a notification for an offline device: past a day it is stale news. */
const EXPIRATION_S = 24 * 3600;
/** Enough for APNs' `{reason, timestamp}`; anything longer is not APNs. */
const MAX_ANSWER_CHARS = 16_384;

/** Whether a push `to` can be an APNs device token; an FCM registration token cannot. */
export function isApnsDeviceToken(to: unknown): boolean {
  return typeof to === "string" && DEVICE_TOKEN.test(to);
}

/** Apple Push Notification service over HTTP/2: one session per sender, one stream per notification. */
export function createApnsSender(opts: ApnsSenderOptions): Sender {
  const now = opts.now ?? Date.now;
  const tokens = createProviderTokens(opts);
  const origin = (opts.baseUrl ?? "https://api.push.apple.com").replace(/\/+$/, "");
  let conn: Connection | undefined;

  const open = (): Connection => {
    if (conn && !conn.session.closed && !conn.session.destroyed) return conn;
    const session = connect(origin, opts.tls?.ca ? { ca: opts.tls.ca } : {});
    // Streams opened before the peer's SETTINGS ignore its stream limit (APNs starts at one), so they wait for them.
    const ready = new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.on("error", reject);
      session.once("close", () => reject(new Error("session closed before APNs' settings")));
    });
    ready.catch(() => undefined);
    const drop = () => {
      if (conn?.session === session) conn = undefined;
    };
    // A draining session finishes its streams; the next send opens another.
    session.on("close", drop).on("goaway", drop);
    conn = { session, ready };
    return conn;
  };

  return {
    provider: "apns",
    accepts: (n) => isApnsDeviceToken(n.payload.to),
    async send(n, ctx) {
      const parsed = PushPayload.safeParse(n.payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PermanentError(`invalid push payload: ${issue?.path.join(".") || "payload"}: ${issue?.message ?? "unknown"}`);
      }
      const { to, title, body, data } = parsed.data;
      if (!isApnsDeviceToken(to)) throw new PermanentError("invalid push payload: to: not an APNs device token (64 to 200 hex digits)");
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      // `aps` last: a data key of that name must not replace it.
      const payload = JSON.stringify({ ...data, aps: { alert: { title, body } } });
      const headers = (token: string): OutgoingHttpHeaders => ({
        ":method": "POST",
        ":path": `/3/device/${to}`,
        authorization: `bearer ${token}`,
        "apns-topic": opts.topic,
        "apns-push-type": "alert",
        // 5 lets APNs batch for the device's battery: fine for marketing, not for a code someone waits for.
        "apns-priority": n.type === "marketing" ? "5" : "10",
        "apns-id": n.id.toLowerCase(),
        "apns-expiration": String(Math.floor(now() / 1000) + EXPIRATION_S),
        "content-type": "application/json",
      });
      const failed = (stage: string, err: unknown) => {
        const detail = err instanceof Error ? err.message : String(err);
        const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : ctx.signal.aborted ? "abandoned by the processor" : detail;
        return new RetryableError(`APNs ${stage}: ${why}`, undefined, { cause: err });
      };
      for (let attempt = 1; ; attempt++) {
        const token = await tokens.token().catch((err: unknown) => {
          throw failed("provider token", err);
        });
        const res = await post(open(), headers(token), payload, signal).catch((err: unknown) => {
          throw failed("request", err);
        });
        if (res.status === 200) return { providerMessageId: String(res.headers["apns-id"] ?? n.id) };
        const { error, staleToken } = classifyApnsFailure(res.status, res.text, res.headers["retry-after"] ?? null, now());
        if (!(staleToken && attempt === 1 && tokens.refused(token))) throw error;
      }
    },
    close() {
      const s = conn?.session;
      conn = undefined;
      if (!s || s.closed || s.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** One stream, once the session is ready: the request, then the status, headers and (bounded) body of the answer. */
async function post(conn: Connection, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<Answer> {
  await untilAborted(conn.ready, signal);
  const stream = conn.session.request(headers);
  return new Promise<Answer>((resolve, reject) => {
    const onAbort = () => {
      stream.close(constants.NGHTTP2_CANCEL);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    let answer: IncomingHttpHeaders = {};
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => {
      answer = h;
    });
    stream.on("data", (chunk: string) => {
      if (text.length < MAX_ANSWER_CHARS) text += chunk;
    });
    stream.on("error", reject);
    stream.on("close", () => {
      signal.removeEventListener("abort", onAbort);
      const status = Number(answer[":status"]);
      if (Number.isInteger(status) && stream.rstCode === constants.NGHTTP2_NO_ERROR) resolve({ status, headers: answer, text });
      else reject(new Error(`stream closed without an answer (HTTP/2 code ${stream.rstCode})`));
    });
    stream.end(body);
  });
}

function untilAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    void p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
