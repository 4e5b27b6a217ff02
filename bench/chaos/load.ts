// A careful client's steady, bounded load: keyed webhook POSTs spread over the
// gateways, every 5xx or dropped connection retried with backoff on the next
// gateway and the same Idempotency-Key, until `stop` lets the in-flight ones finish.
import { post } from "../../test/support/stack.ts";

export interface LoadOptions {
  gateways: () => readonly string[];
  /** Where the notifications are delivered. */
  target: string;
  /** Requests started per second, on a fixed schedule. */
  rate: number;
  /** At most this many requests (retries included) in flight. */
  inFlight: number;
  /** Label of this load's keys, so rounds never share one. */
  prefix: string;
  /** Every `unkeyedEvery`-th request carries no Idempotency-Key (0: all keyed). */
  unkeyedEvery?: number;
}

export interface LoadResult {
  /** Notification ids answered with 202, each once. */
  ids: string[];
  /** 5xx answers seen (each retried). */
  fiveXx: number;
  /** The 5xx answers by status and problem title, e.g. "503 Idempotency store unavailable". */
  fiveXxBy: Record<string, number>;
  /** Attempts whose connection failed (each retried). */
  dropped: number;
  /** Of those, answers to requests without an Idempotency-Key. */
  fiveXxUnkeyed: number;
  /** Requests without an Idempotency-Key answered 202. */
  acceptedUnkeyed: number;
  /** Requests the client gave up on after its retries: never accepted, so not lost. */
  gaveUp: number;
  /** Idempotency-Keys answered with more than one distinct id (a keyed retry accepted twice). */
  splitKeys: number;
  /** Schedule slots skipped because `inFlight` requests were already open. */
  shed: number;
  /** Other answers (4xx), which a careful client does not retry. */
  rejected: Record<string, number>;
}

export interface Load {
  stop(): Promise<LoadResult>;
}

const MAX_ATTEMPTS = 30;

export function startLoad(opts: LoadOptions): Load {
  const idsByKey = new Map<string, Set<string>>();
  const unkeyedKeys = new Set<string>();
  const result: LoadResult = {
    ids: [],
    fiveXx: 0,
    fiveXxBy: {},
    fiveXxUnkeyed: 0,
    acceptedUnkeyed: 0,
    dropped: 0,
    gaveUp: 0,
    splitKeys: 0,
    shed: 0,
    rejected: {},
  };
  const pending = new Set<Promise<void>>();
  const state = { stopped: false, next: 0, turn: 0 };

  async function send(i: number): Promise<void> {
    const key = `${opts.prefix}-${i}`;
    const keyed = !opts.unkeyedEvery || i % opts.unkeyedEvery !== 0;
    if (!keyed) unkeyedKeys.add(key);
    const body = { userId: `u-${i % 50}`, channel: "webhook", payload: { url: opts.target, body: { key } } };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const gateways = opts.gateways();
      const base = gateways[state.turn++ % gateways.length] ?? "";
      const res = await post(base, "/v1/notifications", body, keyed ? { "idempotency-key": key } : {}).catch(() => null);
      if (res?.status === 202) {
        const id = ((await res.json()) as { id: string }).id;
        const seen = idsByKey.get(key) ?? new Set<string>();
        seen.add(id);
        idsByKey.set(key, seen);
        if (!keyed) result.acceptedUnkeyed += 1;
        return;
      }
      if (res && res.status >= 500) {
        const why = `${res.status} ${await problemTitle(res)}`;
        result.fiveXxBy[why] = (result.fiveXxBy[why] ?? 0) + 1;
      } else await res?.body?.cancel();
      if (res && res.status < 500) {
        result.rejected[res.status] = (result.rejected[res.status] ?? 0) + 1;
        return;
      }
      if (!res) result.dropped += 1;
      else {
        result.fiveXx += 1;
        if (!keyed) result.fiveXxUnkeyed += 1;
      }
      await Bun.sleep(Math.min(2000, 100 * 2 ** attempt));
    }
    result.gaveUp += 1;
  }

  // A fixed schedule: slot n is due n / rate seconds after the start. A slot that falls due while
  // `inFlight` requests are open is skipped, not made up later: a careful client sheds, it does not burst.
  const pacer = (async () => {
    const start = performance.now();
    let slot = 0;
    while (!state.stopped) {
      const due = Math.floor(((performance.now() - start) / 1000) * opts.rate);
      for (; slot < due; slot++) {
        if (pending.size >= opts.inFlight) {
          result.shed += 1;
          continue;
        }
        const p = send(state.next++).finally(() => pending.delete(p));
        pending.add(p);
      }
      await Bun.sleep(Math.max(1, start + ((slot + 1) / opts.rate) * 1000 - performance.now()));
    }
  })();

  return {
    async stop() {
      state.stopped = true;
      await pacer;
      await Promise.all(pending);
      for (const [key, ids] of idsByKey) {
        result.ids.push(...ids);
        if (ids.size > 1 && !unkeyedKeys.has(key)) result.splitKeys += 1;
      }
      return result;
    },
  };
}

/** A problem+json answer's title (the gateway's one error shape), or what else it was. */
async function problemTitle(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const title = (JSON.parse(text) as { title?: unknown }).title;
    return typeof title === "string" ? title : "(no title)";
  } catch {
    return text.slice(0, 60) || "(empty)";
  }
}
