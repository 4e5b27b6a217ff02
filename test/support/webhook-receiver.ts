import { Webhook } from "standardwebhooks";
import { TEST_WEBHOOK_SECRET } from "./constants.ts";

export interface Answer {
  status: number;
  /** Hold the request this long before answering. */
  holdMs?: number;
  headers?: Record<string, string>;
}

/** How one path answers the `nth` verified request for a webhook-id (1-based). */
export type Behaviour = (nth: number) => Answer;

const ANSWER_200: Behaviour = () => ({ status: 200 });

export interface ReceivedWebhook {
  id: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  /** True when the 2xx answer was written while the sender was still connected. */
  succeeded: boolean;
  /** Date.now() when it arrived and when it was answered. */
  arrivedAt: number;
  answeredAt: number;
}

export interface WebhookReceiver {
  /** This receiver's address for `path`. */
  url(path?: string): string;
  /** Verified requests, in the order they were answered. */
  readonly received: readonly ReceivedWebhook[];
  /** Verified requests for `id` so far, those still held included. */
  hits(id: string): number;
  /** Successful deliveries per webhook-id. */
  successes(): Map<string, number>;
  /** The headers of the last answered request for `id`. */
  lastHeaders(id: string): Record<string, string> | undefined;
  /** Requests whose signature failed verification (should stay at 0). */
  rejected(): number;
  /** Verified requests being held right now (received, not yet answered). */
  inFlight(): number;
  /** When the longest-held request still unanswered arrived (Date.now()), or null when none is held. */
  oldestHeldAt(): number | null;
  stop(): Promise<void>;
}

/** A local endpoint that verifies every request with `standardwebhooks` and TEST_WEBHOOK_SECRET, as a customer's would; unlisted paths answer 200. */
export function startWebhookReceiver(paths: Record<string, Behaviour> = {}): WebhookReceiver {
  const verifier = new Webhook(TEST_WEBHOOK_SECRET);
  const received: ReceivedWebhook[] = [];
  const hits = new Map<string, number>();
  const state = { rejected: 0 };
  const held = new Set<{ at: number }>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Longer than any hold a test asks for, so Bun does not close a held request first.
    idleTimeout: 60,
    async fetch(req) {
      const raw = await req.text();
      const headers = Object.fromEntries(req.headers);
      try {
        verifier.verify(raw, headers);
      } catch {
        state.rejected += 1;
        return new Response("bad signature", { status: 401 });
      }
      const id = headers["webhook-id"] ?? "";
      const nth = (hits.get(id) ?? 0) + 1;
      hits.set(id, nth);
      const path = new URL(req.url).pathname;
      const answer = (paths[path] ?? ANSWER_200)(nth);
      const hold = { at: Date.now() };
      held.add(hold);
      if (answer.holdMs) await Bun.sleep(answer.holdMs);
      held.delete(hold);
      const succeeded = answer.status < 300 && !req.signal.aborted;
      received.push({ id, path, headers, body: JSON.parse(raw) as unknown, status: answer.status, succeeded, arrivedAt: hold.at, answeredAt: Date.now() });
      return new Response(null, { status: answer.status, headers: answer.headers });
    },
  });
  return {
    url: (path = "/hook") => `http://127.0.0.1:${server.port}${path}`,
    received,
    hits: (id) => hits.get(id) ?? 0,
    successes() {
      const m = new Map<string, number>();
      for (const r of received) if (r.succeeded) m.set(r.id, (m.get(r.id) ?? 0) + 1);
      return m;
    },
    lastHeaders: (id) => received.findLast((r) => r.id === id)?.headers,
    rejected: () => state.rejected,
    inFlight: () => held.size,
    oldestHeldAt() {
      let oldest: number | null = null;
      for (const h of held) if (oldest === null || h.at < oldest) oldest = h.at;
      return oldest;
    },
    stop: () => server.stop(true),
  };
}
