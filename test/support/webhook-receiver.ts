import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  id: string;
  body: unknown;
  /** True when the 2xx answer was written while the sender was still connected. */
  succeeded: boolean;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Requests whose signature failed verification (should stay empty). */
  rejected: number;
  /** Verified requests being held right now (received, not yet answered). */
  inFlight: number;
  /** Successful deliveries per webhook-id. */
  successes(): Map<string, number>;
  stop(): Promise<void>;
}

/**
 * A real HTTP receiver that verifies every request with the `standardwebhooks`
 * library, as a customer's endpoint would. `respond` decides each answer and
 * may delay it (to hold requests in flight while a test kills the sender).
 */
export function startWebhookReceiver(
  secret: string,
  respond: (id: string, nth: number) => Promise<number> = async () => 200,
): WebhookReceiver {
  const verifier = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  const seen = new Map<string, number>();
  const state = { rejected: 0, inFlight: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
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
      const nth = (seen.get(id) ?? 0) + 1;
      seen.set(id, nth);
      state.inFlight += 1;
      const status = await respond(id, nth).finally(() => {
        state.inFlight -= 1;
      });
      const entry: ReceivedWebhook = { id, body: JSON.parse(raw) as unknown, succeeded: status < 300 && !req.signal.aborted };
      received.push(entry);
      return new Response(null, { status });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    received,
    get rejected() {
      return state.rejected;
    },
    get inFlight() {
      return state.inFlight;
    },
    successes() {
      const m = new Map<string, number>();
      for (const r of received) if (r.succeeded) m.set(r.id, (m.get(r.id) ?? 0) + 1);
      return m;
    },
    async stop() {
      await server.stop(true);
    },
  };
}

export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from("herald-test-secret-0123456789").toString("base64")}`;
