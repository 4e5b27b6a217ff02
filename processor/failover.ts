import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from "cockatiel";
import { CHANNELS, type Channel } from "../schemas/enums.ts";
import { isPermanentError } from "./channels/errors.ts";
import type { OutboundNotification, SendContext, SendResult, Sender } from "./channels/types.ts";
import type { BreakerState } from "../lib/telemetry/recorder.ts";

export interface BreakerOptions {
  /** Consecutive provider-caused failures that open a breaker. */
  failures: number;
  /** How long an open breaker refuses calls before one trial goes through. */
  halfOpenMs: number;
}

/** While a trial call is out, the others of its channel look again after this long. */
export const TRIAL_WAIT_MS = 2000;

/** What a channel's providers can do for one notification right now. */
export type Pick =
  | { kind: "send"; route: Route; trial: boolean }
  | { kind: "wait"; untilMs: number } // every provider that takes it is open: nothing is attempted before untilMs
  | { kind: "none"; error: string }; // no provider of the channel takes this address at all

/** One provider of a channel, with its breaker when the channel fails over. */
export interface Route {
  readonly channel: Channel;
  readonly sender: Sender;
  state(): BreakerState;
  /** Calls the provider through its breaker; throws BrokenCircuitError without calling it when the breaker is open. */
  call(n: OutboundNotification, ctx: SendContext): Promise<SendResult>;
}

export interface Routes {
  /**
   * The provider for each notification, in the channel's order: the first that
   * takes it and whose breaker is closed, or the first open one whose pause is
   * over (its one trial, reserved here until `settle`), else when to look again.
   * Synchronous, so batches of one process never reserve the same trial twice.
   */
  pick(n: OutboundNotification, nowMs?: number): Pick;
  /** Ends a pick: frees a trial reserved by `pick` that was not (or was) called. */
  settle(p: Pick): void;
  /** Each channel's providers in order, for metrics and logs. */
  providers(): Record<Channel, string[]>;
  /** Every breaker's state, for the metrics. */
  states(): Array<{ channel: Channel; provider: string; state: BreakerState }>;
}

export interface RoutesOptions {
  breaker: BreakerOptions;
  /** Called on every breaker transition (metrics, logs). */
  onStateChange?: (channel: Channel, provider: string, state: BreakerState) => void;
  now?: () => number;
}

/** The channels that fail over: their providers are shared by all tenants. Webhooks go to each tenant's own URL, and the inbox is Postgres. */
export const FAILOVER_CHANNELS = ["email", "sms", "push"] as const satisfies readonly Channel[];

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

interface Guarded extends Route {
  /** When the breaker opened (Date.now()), null while it is closed. */
  openedAt: number | null;
  trialReserved: boolean;
}

/**
 * A failure the provider causes (timeout, 5xx, 429, a network error) counts
 * towards opening its breaker; one the message causes (an invalid address)
 * never does, so a burst of bad input cannot take a healthy provider out.
 */
const providerCaused = handleWhen((err) => !isPermanentError(err));

function guarded(channel: Channel, sender: Sender, opts: RoutesOptions): Guarded {
  const policy: CircuitBreakerPolicy = circuitBreaker(providerCaused, {
    halfOpenAfter: opts.breaker.halfOpenMs,
    breaker: new ConsecutiveBreaker(opts.breaker.failures),
  });
  const now = opts.now ?? Date.now;
  const route: Guarded = {
    channel,
    sender,
    openedAt: null,
    trialReserved: false,
    state: () => STATE_NAMES[policy.state],
    call: (n, ctx) => policy.execute(() => sender.send(n, ctx)),
  };
  policy.onStateChange((s) => {
    if (s === CircuitState.Open) route.openedAt = now();
    if (s === CircuitState.Closed) route.openedAt = null;
    if (s !== CircuitState.HalfOpen) route.trialReserved = false;
    opts.onStateChange?.(channel, sender.provider, STATE_NAMES[s]);
  });
  return route;
}

function unguarded(channel: Channel, sender: Sender): Route {
  return { channel, sender, state: () => "closed", call: (n, ctx) => sender.send(n, ctx) };
}

/**
 * Each channel's providers in order, a cockatiel circuit breaker on each
 * provider of the channels that fail over. Breakers live in the process: every
 * processor instance learns of an outage from its own calls.
 */
export function createRoutes(chains: Record<Channel, readonly Sender[]>, opts: RoutesOptions): Routes {
  const now = opts.now ?? Date.now;
  const failsOver = (c: Channel) => (FAILOVER_CHANNELS as readonly Channel[]).includes(c);
  const routes = Object.fromEntries(
    CHANNELS.map((c) => {
      const senders = chains[c];
      if (senders.length === 0) throw new Error(`channel ${c} has no provider`);
      return [c, senders.map((s) => (failsOver(c) ? guarded(c, s, opts) : unguarded(c, s)))];
    }),
  ) as Record<Channel, Array<Route | Guarded>>;

  const pick = (n: OutboundNotification, nowMs = now()): Pick => {
    const takers = routes[n.channel].filter((r) => r.sender.accepts?.(n) ?? true);
    if (takers.length === 0)
      return { kind: "none", error: `no ${n.channel} provider takes this address (${routes[n.channel].map((r) => r.sender.provider).join(", ")})` };
    let until = Number.POSITIVE_INFINITY;
    for (const r of takers) {
      if (!("openedAt" in r) || r.state() === "closed") return { kind: "send", route: r, trial: false };
      const halfOpenAt = (r.openedAt ?? nowMs) + opts.breaker.halfOpenMs;
      if (r.state() === "open" && nowMs >= halfOpenAt && !r.trialReserved) {
        r.trialReserved = true;
        return { kind: "send", route: r, trial: true };
      }
      until = Math.min(until, r.state() === "open" && nowMs < halfOpenAt ? halfOpenAt : nowMs + TRIAL_WAIT_MS);
    }
    return { kind: "wait", untilMs: until };
  };

  return {
    pick,
    settle(p) {
      if (p.kind === "send" && p.trial && "trialReserved" in p.route) (p.route as Guarded).trialReserved = false;
    },
    providers: () => Object.fromEntries(CHANNELS.map((c) => [c, routes[c].map((r) => r.sender.provider)])) as Record<Channel, string[]>,
    states: () => CHANNELS.flatMap((c) => routes[c].filter((r) => "openedAt" in r).map((r) => ({ channel: c, provider: r.sender.provider, state: r.state() }))),
  };
}

/** True when the call never reached the provider because its breaker was open. */
export function isBrokenCircuit(err: unknown): err is BrokenCircuitError {
  return err instanceof BrokenCircuitError;
}
