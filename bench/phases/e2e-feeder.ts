// The end-to-end phase's closed-loop feeder: a few workers post batches to
// the gateway whenever the work stream holds fewer than `backlogCap`
// messages, so the processor always has work queued while the backlog (and
// so the drain at the end) stays bounded.
import type { NatsConnection } from "@nats-io/transport-node";
import { streamMessages } from "../lib/stream.ts";

export interface FeederOptions {
  gatewayUrl: string;
  apiKey: string;
  nc: NatsConnection;
  workStream: string;
  webhookUrl: string;
  batchSize: number;
  seconds: number;
  workers: number;
  backlogCap: number;
  /** Every n-th item is a webhook to `webhookUrl`; the rest are in_app through the inbox provider (no outside call, as the sink made none). */
  webhookEvery: number;
  /** Aborted: feeding stops before `seconds` are up. */
  signal?: AbortSignal;
}

export interface FeederResult {
  accepted: number;
  webhooks: number;
  failedBatches: number;
  maxBacklog: number;
  /** Share of the workers' time spent waiting on the cap: near 1 means the processor set the pace. */
  throttledShare: number;
  startedAt: number;
  endedAt: number;
}

function feedBody(webhookUrl: string, size: number, every: number): string {
  const inApp = { userId: "bench-user", channel: "in_app", payload: { title: "Bench", body: "Hello" } };
  const hook = { userId: "bench-user", channel: "webhook", payload: { url: webhookUrl, body: { bench: true } } };
  return JSON.stringify({ notifications: Array.from({ length: size }, (_, i) => (i % every === 0 ? hook : inApp)) });
}

export async function feed(opts: FeederOptions, log: (line: string) => void): Promise<FeederResult> {
  const body = feedBody(opts.webhookUrl, opts.batchSize, opts.webhookEvery);
  const hooksPerBatch = Math.ceil(opts.batchSize / opts.webhookEvery);
  const state = { backlog: 0, maxBacklog: 0, accepted: 0, webhooks: 0, failed: 0, throttledMs: 0, feeding: true };
  const fail = (why: string) => {
    state.failed += 1;
    if (state.failed <= 3) log(`e2e: batch failed: ${why}`);
  };

  const poller = (async () => {
    while (state.feeding) {
      state.backlog = await streamMessages(opts.nc, opts.workStream);
      state.maxBacklog = Math.max(state.maxBacklog, state.backlog);
      await Bun.sleep(200);
    }
  })();

  async function post(): Promise<void> {
    const res = await fetch(`${opts.gatewayUrl}/v1/notifications/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${opts.apiKey}`, "content-type": "application/json" },
      body,
    });
    if (res.status === 202) {
      await res.arrayBuffer();
      state.accepted += opts.batchSize;
      state.webhooks += hooksPerBatch;
    } else if (res.status === 207) {
      // Partly accepted: count exactly what became durable.
      const { results } = (await res.json()) as { results: Array<{ index: number; status: string }> };
      for (const r of results) {
        if (r.status !== "accepted") continue;
        state.accepted += 1;
        if (r.index % opts.webhookEvery === 0) state.webhooks += 1;
      }
    } else {
      fail(`answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    }
  }

  const startedAt = Date.now();
  const end = startedAt + opts.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (Date.now() < end && !opts.signal?.aborted) {
      if (state.backlog >= opts.backlogCap) {
        await Bun.sleep(10);
        state.throttledMs += 10;
        continue;
      }
      await post().catch((err: unknown) => fail(String(err)));
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.workers }, worker));
  } finally {
    state.feeding = false;
    await poller;
  }
  const endedAt = Date.now();
  return {
    accepted: state.accepted,
    webhooks: state.webhooks,
    failedBatches: state.failed,
    maxBacklog: state.maxBacklog,
    throttledShare: state.throttledMs / (opts.workers * (endedAt - startedAt)),
    startedAt,
    endedAt,
  };
}
