import { Webhook } from "standardwebhooks";

/** How the receiver answers one path: status per delivery number (1-based), optional hold. */
export type Behaviour = (nth: number) => { status: number; holdMs?: number; headers?: Record<string, string> };

export interface Receiver {
  url(path: string): string;
  /** Verified deliveries per webhook-id, in arrival order. */
  hits(id: string): number;
  inFlight(): number;
  rejected(): number;
  lastHeaders(id: string): Record<string, string> | undefined;
  stop(): Promise<void>;
}

/** A real local endpoint that verifies every request with `standardwebhooks`, as a customer's would. */
export function startReceiver(secret: string, behaviours: Record<string, Behaviour>): Receiver {
  const verifier = new Webhook(secret);
  const hits = new Map<string, number>();
  const headersById = new Map<string, Record<string, string>>();
  const state = { inFlight: 0, rejected: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      const headers = Object.fromEntries(req.headers);
      try {
        verifier.verify(body, headers);
      } catch {
        state.rejected += 1;
        return new Response("bad signature", { status: 401 });
      }
      const id = headers["webhook-id"] ?? "";
      const nth = (hits.get(id) ?? 0) + 1;
      hits.set(id, nth);
      headersById.set(id, headers);
      const behave: Behaviour = behaviours[new URL(req.url).pathname] ?? (() => ({ status: 200 }));
      const answer = behave(nth);
      state.inFlight += 1;
      if (answer.holdMs) await Bun.sleep(answer.holdMs);
      state.inFlight -= 1;
      return new Response(null, { status: answer.status, headers: answer.headers });
    },
  });
  return {
    url: (path) => `http://127.0.0.1:${server.port}${path}`,
    hits: (id) => hits.get(id) ?? 0,
    inFlight: () => state.inFlight,
    rejected: () => state.rejected,
    lastHeaders: (id) => headersById.get(id),
    stop: () => server.stop(true),
  };
}
