/**
 * Spend caps: how many notifications a tenant may have accepted on a channel
 * in one UTC day. Counted at accept time in the gateway store (shared by
 * every gateway on Redis or Upstash), before the publish, and given back when
 * the publish fails; a counter the store lost is rebuilt from Postgres.
 */
import type { Logger } from "pino";
import type { MetricsRecorder } from "../lib/telemetry/recorder.ts";
import type { Channel } from "../schemas/enums.ts";
import type { TenantDirectory } from "../schemas/tenancy.ts";
import { AppError, type FieldError } from "./errors.ts";
import type { DayCounter, GatewayStore } from "./store/types.ts";

/** Notifications per UTC day, by channel; a channel not named has no cap. */
export type ChannelCaps = Partial<Record<Channel, number>>;

/** Where the caps come from, and how a lost counter is rebuilt. */
export interface SpendCaps {
  /** The tenant's caps: HERALD_DAILY_CAPS, with a tenant's own replacing it per channel. */
  capsOf(tenant: string): ChannelCaps | Promise<ChannelCaps>;
  /** The tenant's notifications on the channel that Postgres holds, accepted in `[from, to)` (lib/db/usage.ts). */
  countAccepted(tenant: string, channel: Channel, from: Date, to: Date): Promise<number>;
  /** The clock the UTC day is read from; default `Date.now`. */
  now?: () => number;
}

/** A tenant's caps as the tenant directory holds them: its own per channel over HERALD_DAILY_CAPS. */
export function capsFromDirectory(directory: Pick<TenantDirectory, "settings">): SpendCaps["capsOf"] {
  return (tenant) => {
    const settings = directory.settings(tenant);
    return settings instanceof Promise ? settings.then((s) => s.dailyCaps) : settings.dailyCaps;
  };
}

const DAY_MS = 86_400_000;
/** A counter outlives its day by this much, so a give-back just after midnight still finds it. */
const GRACE_MS = 3_600_000;

/** The UTC day `ms` falls in: its name and its bounds. */
export function utcDay(ms: number): { day: string; start: number; end: number } {
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), start, end: start + DAY_MS };
}

/** A channel that refused some of what a request wanted. */
export interface CapRefusal {
  channel: Channel;
  cap: number;
  refused: number;
}

/** What one request holds of its tenant's caps: grants handed out in request order, and the way to give them back. */
export interface CapHold {
  /** Takes one grant of the channel: always true for a channel without a cap, else while the grants last. */
  admit(channel: Channel): boolean;
  readonly refusals: readonly CapRefusal[];
  /** When the counters start again: the next UTC midnight. */
  readonly resetsAt: Date;
  /** Whole seconds from the hold until `resetsAt`, at least 1. */
  readonly retryAfter: number;
  /** Gives back the grants of notifications whose publish failed; failures are logged, never thrown. */
  giveBack(channels: readonly Channel[]): Promise<void>;
}

/** The caps of one gateway: built once, since it keeps the Postgres counts in flight to share them. */
export interface CapGate {
  /**
   * Takes what the request wants (notifications per channel) from the
   * tenant's counters. Null when no channel asked has a cap: nothing to
   * hold, no store asked. Throws 503 when the store, or Postgres for a lost
   * counter, does not answer: a cap bounds money, so it fails closed.
   */
  hold(tenant: string, wanted: ChannelCaps): CapHold | null | Promise<CapHold | null>;
}

export interface CapGateDeps {
  caps: SpendCaps;
  store: GatewayStore;
  metrics: MetricsRecorder;
  logger: Logger;
}

/** One capped channel a request asked for, and what its counter granted. */
interface Asked {
  counter: DayCounter;
  cap: number;
  wanted: number;
  granted: number;
}

function anyCapped(caps: ChannelCaps, wanted: ChannelCaps): boolean {
  for (const channel in wanted) if (caps[channel as Channel] !== undefined) return true;
  return false;
}

export function createCapGate({ caps, store, metrics, logger }: CapGateDeps): CapGate {
  const now = caps.now ?? Date.now;
  /** Postgres counts in flight by counter, so a gateway asks once however many requests find the counter lost. */
  const seeding = new Map<string, Promise<number>>();

  function seedOf(counter: DayCounter, start: number, end: number): Promise<number> {
    const key = `${counter.tenant}\n${counter.channel}\n${counter.day}`;
    let seed = seeding.get(key);
    if (seed === undefined) {
      seed = caps.countAccepted(counter.tenant, counter.channel, new Date(start), new Date(end)).finally(() => seeding.delete(key));
      seeding.set(key, seed);
    }
    return seed;
  }

  async function take(counter: DayCounter, wanted: number, cap: number, start: number, end: number): Promise<number> {
    // A cap of 0 closes the channel: nothing to count.
    if (cap <= 0) return 0;
    const first = await store.takeDaily(counter, wanted, cap);
    if (first.kind === "taken") return first.granted;
    const second = await store.takeDaily(counter, wanted, cap, await seedOf(counter, start, end));
    if (second.kind === "taken") return second.granted;
    throw new Error("the store did not create a seeded counter");
  }

  const giveBack = (counter: DayCounter, n: number): Promise<void> =>
    n <= 0
      ? Promise.resolve()
      : store.giveBackDaily(counter, n).catch((err: unknown) => {
          logger.warn(
            { err, tenantId: counter.tenant, channel: counter.channel },
            "could not give back a spend cap's count: it stays counted until the day ends",
          );
        });

  async function holdCapped(tenant: string, own: ChannelCaps, wanted: ChannelCaps): Promise<CapHold> {
    const at = now();
    const { day, start, end } = utcDay(at);
    const asked: Asked[] = [];
    for (const [channel, n] of Object.entries(wanted) as [Channel, number][]) {
      const cap = own[channel];
      if (cap !== undefined && n > 0) asked.push({ counter: { tenant, channel, day, ttlMs: end - at + GRACE_MS }, cap, wanted: n, granted: 0 });
    }
    const taken = await Promise.allSettled(asked.map((a) => take(a.counter, a.wanted, a.cap, start, end)));
    taken.forEach((t, i) => {
      const a = asked[i];
      if (a && t.status === "fulfilled") a.granted = t.value;
    });
    const failed = taken.find((t) => t.status === "rejected");
    if (failed !== undefined) {
      await Promise.all(asked.map((a) => giveBack(a.counter, a.granted)));
      throw new AppError("unavailable", { detail: "The spend-cap counter did not answer; retry", retryAfter: 1, cause: failed.reason });
    }
    for (const a of asked) if (a.granted < a.wanted) metrics.dailyCapRefused(a.counter.channel, a.wanted - a.granted);
    return holdOf(asked, end, at);
  }

  /** The hold over what was granted: grants handed out in order, given back by channel. */
  function holdOf(asked: readonly Asked[], end: number, at: number): CapHold {
    const byChannel = new Map(asked.map((a) => [a.counter.channel, a]));
    const left = new Map(asked.map((a) => [a.counter.channel, a.granted]));
    return {
      refusals: asked.filter((a) => a.granted < a.wanted).map((a) => ({ channel: a.counter.channel, cap: a.cap, refused: a.wanted - a.granted })),
      resetsAt: new Date(end),
      retryAfter: Math.max(1, Math.ceil((end - at) / 1000)),
      admit(channel) {
        const grants = left.get(channel);
        if (grants === undefined) return true;
        if (grants <= 0) return false;
        left.set(channel, grants - 1);
        return true;
      },
      async giveBack(channels) {
        const failed = new Map<DayCounter, number>();
        for (const c of channels) {
          const counter = byChannel.get(c)?.counter;
          if (counter) failed.set(counter, (failed.get(counter) ?? 0) + 1);
        }
        await Promise.all([...failed].map(([counter, n]) => giveBack(counter, n)));
      },
    };
  }

  function unavailable(cause: unknown): never {
    throw new AppError("unavailable", { detail: "The tenant's spend caps could not be read; retry", retryAfter: 1, cause });
  }

  return {
    hold(tenant, wanted) {
      const own = caps.capsOf(tenant);
      if (own instanceof Promise) return own.then((c) => (anyCapped(c, wanted) ? holdCapped(tenant, c, wanted) : null), unavailable);
      return anyCapped(own, wanted) ? holdCapped(tenant, own, wanted) : null;
    },
  };
}

/** The refusals (of one channel, or all) as field errors at `path`: each names its channel, its cap and when it resets. */
export function capErrors(hold: CapHold, path: string, channel?: Channel): FieldError[] {
  const at = hold.resetsAt.toISOString();
  return hold.refusals
    .filter((r) => channel === undefined || r.channel === channel)
    .map((r) => ({ path, message: `the daily cap of ${r.cap} ${r.channel} notifications is reached until ${at}` }));
}

/**
 * The 429 of a request refused by its tenant's daily caps: the channels and
 * their caps in the detail and as field errors at `path`, and Retry-After
 * until the next UTC midnight.
 */
export function dailyCapReached(hold: CapHold, path: string): AppError {
  const caps = hold.refusals.map((r) => `${r.cap} ${r.channel}`).join(", ");
  return new AppError("daily_cap", {
    detail: `The tenant's daily cap (${caps} notifications a day) is reached; it resets at ${hold.resetsAt.toISOString()}, the next UTC midnight`,
    retryAfter: hold.retryAfter,
    errors: capErrors(hold, path),
  });
}
