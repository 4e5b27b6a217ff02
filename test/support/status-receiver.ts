import { Webhook } from "standardwebhooks";
import type { Answer, Behaviour } from "./webhook-receiver.ts";

export interface StatusPost {
  path: string;
  /** `webhook-id`: the delivery's id. */
  id: string;
  body: Record<string, unknown>;
  status: number;
  at: number;
}

export interface StatusReceiver {
  url(path: string): string;
  /** The secret `path`'s requests must be signed with (an endpoint's, known once it is created). */
  expect(path: string, secret: string): void;
  /** Verified requests, in the order they were answered. */
  readonly posts: readonly StatusPost[];
  /** Verified requests to `path`. */
  to(path: string): StatusPost[];
  /** Requests that failed verification with their path's secret (should stay at 0). */
  rejected(): number;
  stop(): Promise<void>;
}

/**
 * A tenant's status-webhook endpoint on loopback: each path verifies every
 * POST with `standardwebhooks` and its endpoint's secret, as a tenant's
 * backend would, then answers as its behaviour says for the nth POST to it.
 */
export function startStatusReceiver(paths: Record<string, Behaviour> = {}): StatusReceiver {
  const secrets = new Map<string, Webhook>();
  const posts: StatusPost[] = [];
  const counts = new Map<string, number>();
  let rejected = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const raw = await req.text();
      const headers = Object.fromEntries(req.headers);
      try {
        const verifier = secrets.get(path);
        if (verifier === undefined) throw new Error("no secret for this path yet");
        verifier.verify(raw, headers);
      } catch {
        rejected += 1;
        return new Response("bad signature", { status: 401 });
      }
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const answer: Answer = (paths[path] ?? (() => ({ status: 200 })))(nth);
      if (answer.holdMs) await Bun.sleep(answer.holdMs);
      posts.push({ path, id: headers["webhook-id"] ?? "", body: JSON.parse(raw) as Record<string, unknown>, status: answer.status, at: Date.now() });
      return new Response(answer.status >= 300 ? "receiver says no" : "ok", { status: answer.status });
    },
  });
  return {
    url: (path) => `http://127.0.0.1:${server.port}${path}`,
    expect: (path, secret) => void secrets.set(path, new Webhook(secret)),
    posts,
    to: (path) => posts.filter((p) => p.path === path),
    rejected: () => rejected,
    stop: () => server.stop(true),
  };
}
