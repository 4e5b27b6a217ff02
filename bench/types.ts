// The shapes of one benchmark run's results, shared by the phases, the report and the chart.
import type { BenchPlan } from "./args.ts";
import type { MachineInfo } from "./lib/machine.ts";

/** What autocannon reports of one measured run: latency of 2xx answers in ms, failures, and its own CPU. */
export interface LoadFigures {
  p50: number;
  p99: number;
  p999: number;
  non2xx: number;
  errors: number;
  /** Cores the load generator used on average during the measured run. */
  loadgenCores: number;
}

/** One system under the single-POST load (Herald, a peer, or bare Bun.serve). */
export interface HttpRun extends LoadFigures {
  name: string;
  /** 2xx answers per second. */
  rps: number;
  /** Cores the system's process tree used on average during the measured run. */
  serverCores: number;
  /** Peak RSS (sum of VmHWM over its process tree) at the end of its runs, MB. */
  peakRssMb: number;
  /** The 2xx answers (warm-up and run) against the messages that reached the stream; null without a stream. */
  stream: { answered2xx: number; held: number; ok: boolean } | null;
  /** False when the box was busy before the phase started. */
  quiet: boolean;
}

export interface FixedRateRun extends LoadFigures {
  /** The requested rate: 50% of the gateway phase's measured maximum. */
  targetRps: number;
  achievedRps: number;
  quiet: boolean;
}

export interface BatchRun {
  batchSize: number;
  connections: number;
  /** Notifications accepted per second (2xx batches × batch size, checked against the stream). */
  itemsPerS: number;
  batchesPerS: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  loadgenCores: number;
  serverCores: number;
  stream: { expected: number; held: number; ok: boolean };
  quiet: boolean;
}

export interface JetStreamCeiling {
  window: number;
  rps: number;
  serialRps: number;
}

export interface E2eRun {
  accepted: number;
  webhooks: number;
  /** Batches the gateway refused or failed (any answer but 202/207). */
  failedBatches: number;
  /** The measured window (whole seconds after the ramp) and what Postgres says was sent in it. */
  windowS: number;
  sentInWindow: number;
  sentPerS: number;
  perSecond: { min: number; median: number; max: number };
  /** Largest backlog (messages in the work stream) seen while feeding. */
  maxBacklog: number;
  /**
   * Share of the feeders' time spent waiting because the backlog was at its
   * cap: near 1 means the processor, not ingest, set the pace.
   */
  throttledShare: number;
  /** Seconds from the end of feeding until every lane was empty and Postgres had every notification sent. */
  drainS: number;
  drained: boolean;
  final: { pending: number; ackPending: number; streamMessages: number; dlqMessages: number; byStatus: Record<string, number> };
  webhookReceiver: { delivered: number; rejected: number };
  /** Cores the harness (feeder, webhook receiver, pollers) used while feeding. */
  feederCores: number;
  gatewayCores: number;
  processorCores: number;
  quiet: boolean;
}

/** Scheduled notifications at scale: due-now ones must not wait behind them, each scheduled one sent once near its time. */
export interface SchedulerRun {
  scheduled: number;
  dueNow: number;
  /** How far ahead the scheduled ones were due when accepted. */
  aheadS: number;
  /** From posting the due-now ones until Postgres had every one `sent`. */
  dueNowSentS: number;
  /** The normal lane's ack-pending, sampled while the scheduled ones waited: they hold none of it. */
  maxAckPendingWhileWaiting: number;
  /** `sent_at − scheduled_for` of the scheduled ones, ms. */
  lateMs: { min: number; p50: number; p99: number; max: number };
  /** Of all of them, delivered exactly once / never / more than once, by the verifying receiver. */
  sentOnce: number;
  missing: number;
  duplicated: number;
  quiet: boolean;
}

/** Urgent notifications posted one at a time while a `low` backlog of slow webhooks fills its lane. */
export interface IsolationRun {
  low: number;
  /** How long the receiver held each low webhook before answering. */
  holdMs: number;
  /** Seconds to queue the low ones through the batch endpoint. */
  lowPostedS: number;
  /** The low lane consumer's num_pending + num_ack_pending just before the first urgent, and after the last. */
  backlogAtFirst: number;
  backlogAtLast: number;
  /** Low ones Postgres had `sent` once the urgent ones were measured. */
  lowSentByEnd: number;
  urgent: number;
  urgentEveryMs: number;
  /** Urgent ones Postgres had `sent` within the phase's wait. */
  urgentSent: number;
  /** Postgres `sent_at` minus the wall-clock time the 202 arrived, ms; Infinity for one never sent. */
  urgentMs: { p50: number; max: number; each: number[] };
  quiet: boolean;
}

/** End-to-end sent/s with no scheduled notifications against many parked an hour ahead, rounds alternating. */
export interface ParkedRun {
  /** Notifications parked in the "parked" stack's schedules table. */
  parked: number;
  /** Rows the schedules table held after parking. */
  parkedStored: number;
  /** Sent/s of each round, in the order run. */
  none: E2eRun[];
  withParked: E2eRun[];
  /** Mean sent/s over each side's rounds. */
  noneSentPerS: number;
  parkedSentPerS: number;
  /** parkedSentPerS / noneSentPerS. */
  ratio: number;
}

/** End-to-end sent/s with an empty table against millions stored, rounds alternating, and during a retention pass. */
export interface RetentionRun {
  /** Notifications asked to be stored. */
  rows: number;
  /** What the stored stack then held: rows of each table, and their bytes with indexes. */
  held: { notifications: number; attempts: number; bytes: number };
  /** Seconds the storing took (rows, indexes, vacuum). */
  storeS: number;
  /** Each side's rounds, in the order run. */
  empty: E2eRun[];
  stored: E2eRun[];
  /** Mean sent/s over each side's rounds. */
  emptySentPerS: number;
  storedSentPerS: number;
  /** storedSentPerS / emptySentPerS. */
  ratio: number;
  pass: {
    /** The default retention the pass ran with. */
    days: number;
    /** Seconds the pass ran, over its windows. */
    seconds: number;
    /** Windows with the pass running, each followed by a pause as long. */
    windows: number;
    windowS: number;
    /** False: the round ended before the pass had removed everything. */
    done: boolean;
    droppedNotifications: number;
    droppedAttempts: number;
    /** The longest transaction that dropped a month, its lock waits included. */
    longestDropMs: number;
    deletedNotifications: number;
    deletedAttempts: number;
    /** Delete statements, and the longest. */
    batches: number;
    longestBatchMs: number;
    /** The round it ran in, whole. */
    round: E2eRun;
    /** Sent/s of the windows with the pass running and of the pauses, from Postgres's sent_at. */
    onSentPerS: number;
    offSentPerS: number;
    /** onSentPerS / offSentPerS. */
    ratio: number;
  };
}

/** What failover adds to one send, in the processor's process, and the batch's suppression lookup. */
export interface FailoverRun {
  sends: number;
  rounds: number;
  /** µs per send, each round: the sender called directly, through closed breakers, with the primary's open. */
  directUs: number[];
  closedUs: number[];
  openUs: number[];
  /** Medians' differences to the direct call, µs per send. */
  breakerUs: number;
  failoverUs: number;
  /** Rows in the suppressions table, and addresses per lookup. */
  suppressions: number;
  batch: number;
  /** Median of one batch's lookup, ms, and that per message, µs. */
  lookupMs: number;
  lookupUsPerMessage: number;
}

/** The gateway's single-POST load with telemetry off and on, rounds interleaved in one run. */
export interface TelemetryRun {
  /** OTEL_TRACES_SAMPLER_ARG of the "on" rounds. */
  sampleRatio: number;
  off: HttpRun[];
  on: HttpRun[];
  /** Mean 2xx req/s over each mode's rounds. */
  offRps: number;
  onRps: number;
  /** Worst p99 over each mode's rounds, ms. */
  offP99: number;
  onP99: number;
  /** (off − on) / off × 100: the share of throughput telemetry costs. */
  overheadPct: number;
  /** Spans the local OTLP receiver got from the "on" rounds (warm-up included). */
  spans: number;
  /** Distinct trace ids among them. */
  tracesSampled: number;
  /** Lines the "on" gateways wrote to stdout, against the 2xx they answered (warm-up included). */
  logLinesOn: number;
  acceptedOn: number;
}

/** The accept path of a send by template against an explicit payload, on one gateway, rounds alternating. */
export interface TemplatesRun {
  /** Each body's rounds, in the order run. */
  explicit: HttpRun[];
  template: HttpRun[];
  /** Mean 2xx req/s and mean p99 (ms) over each body's rounds. */
  explicitRps: number;
  templateRps: number;
  explicitP99: number;
  templateP99: number;
  /** templateRps / explicitRps. */
  ratio: number;
}

/** What per-tenant webhook secrets add to one send, in the processor's process, and the cache's read of a batch's tenants. */
export interface SigningRun {
  sends: number;
  rounds: number;
  /** µs per send, each round: the deployment's secret, the tenant's one secret (cached), two in a rotation's grace. */
  deploymentUs: number[];
  tenantUs: number[];
  rotatingUs: number[];
  /** Median µs of one cached `keysOf`, all the tenant path adds before signing. */
  lookupUs: number;
  /** Medians of each round's difference to the deployment's secret, µs per send. */
  tenantAddedUs: number;
  rotatingAddedUs: number;
  /** Median of each round's tenant / deployment. */
  tenantRatio: number;
  /** Reads of the secrets during the measured rounds (0: every send found them cached). */
  loadsDuringRounds: number;
  /** Tenants in the batch read, and its median, ms. */
  tenants: number;
  readMs: number;
}

/** The processor's render cost per notification, in the harness's own process. */
export interface RenderRun {
  notifications: number;
  rounds: number;
  /** µs per notification, each round: through the parse cache, and parsing every field. */
  cachedUs: number[];
  uncachedUs: number[];
  /** The processor's figure: the median round through the cache, µs per notification. */
  perNotificationUs: number;
  /** The median round parsing every field, µs per notification. */
  uncachedPerNotificationUs: number;
  /** The accept path's check of `data` against the version's variables, µs per send. */
  validateUs: number;
}

/** The gateway variants the runtimes phase measures, in its forward order; each names its RESULT keys, e.g. `node_ws_rps`. */
export const RUNTIME_KEYS = ["bun", "node", "node_ws", "deno", "workerd"] as const;
export type RuntimeKey = (typeof RUNTIME_KEYS)[number];

/** One way the gateway runs in the runtimes phase: a runtime, how it reaches NATS, where its idempotency claims go. */
export interface RuntimeVariant {
  key: RuntimeKey;
  runtime: "bun" | "node" | "deno" | "workerd";
  /** The private nats-server's TCP listener or its WebSocket one. */
  transport: "tcp" | "ws";
  /** Redis over TCP, or Upstash's REST protocol in front of the same Redis (workerd has no TCP). */
  store: "redis" | "upstash-rest";
}

/** One variant over the runtimes phase's rounds, each a fresh process warmed and then measured. */
export interface RuntimeRun extends RuntimeVariant {
  /** The runtime's own version, e.g. "Deno 2.9.6". */
  version: string;
  /** One measured run per round, in round order. */
  rounds: HttpRun[];
  /** Mean 2xx req/s over the rounds. */
  rps: number;
  /** Mean p50 and the worst round's p99, ms. */
  p50: number;
  p99: number;
  /** The largest VmHWM of its process over the rounds, MB. */
  peakRssMb: number;
  /** Mean cores its process used during the measured runs. */
  serverCores: number;
}

/** The gateway phase's load against the gateway on each runtime, the variants alternating round by round. */
export interface RuntimesRun {
  roundsEach: number;
  /** The variants' keys in the order each round measured them. */
  order: RuntimeKey[][];
  variants: RuntimeRun[];
}

/** RSS of one process tree over the run: sampled VmRSS (start, peak, end, every reading) and the VmHWM sum. */
export interface TreeMemory {
  startMb: number;
  peakSampledMb: number;
  endMb: number;
  hwmMb: number;
  samples: Array<{ atS: number; rssMb: number }>;
}

/** One way of consuming with @herald/events: its handler (returns at once, or awaits 1 ms) and concurrency. */
export interface SubscriberVariant {
  handler: "none" | "1 ms";
  concurrency: number;
  /** Events read per round. */
  events: number;
  /** Medians over the rounds. */
  eventsPerS: number;
  /** The consuming process's CPU µs per event. */
  cpuUs: number;
}

/** @herald/events reading stored lifecycle events from the start of the stream. */
export interface SubscriberRun {
  events: number;
  rounds: number;
  publishS: number;
  /** A bare pull consumer acking what it gets, nothing parsed: the ceiling. */
  bareEventsPerS: number;
  bareCpuUs: number;
  variants: SubscriberVariant[];
}

/** One side of the fan-out phase: events/s and CPU per event of the status-webhook fan-out loop. */
export interface FanoutVariant {
  endpointsPerTenant: number;
  /** Medians over the rounds. */
  eventsPerS: number;
  cpuUsPerEvent: number;
  deliveriesPerRound: number;
  /** Each round's events/s, to show the spread. */
  rounds: number[];
}

/** Status webhooks' fan-out with no endpoints vs some per tenant, rounds alternating. */
export interface FanoutRun {
  events: number;
  tenants: number;
  publishS: number;
  none: FanoutVariant;
  some: FanoutVariant;
}

export interface MemoryFigures {
  gateway: TreeMemory | null;
  processor: TreeMemory | null;
  /** When each Herald phase ran, on the samples' clock, to tell which phase set a peak. */
  phases?: Array<{ phase: string; startS: number; endS: number }>;
}

export interface BenchResults {
  startedAt: string;
  elapsedS: number;
  plan: BenchPlan;
  machine: MachineInfo;
  herald?: HttpRun;
  fixed?: FixedRateRun;
  batch?: BatchRun;
  e2e?: E2eRun;
  scheduler?: SchedulerRun;
  isolation?: IsolationRun;
  parked?: ParkedRun;
  retention?: RetentionRun;
  failover?: FailoverRun;
  signing?: SigningRun;
  subscriber?: SubscriberRun;
  fanout?: FanoutRun;
  peers: HttpRun[];
  bunServe?: HttpRun;
  jetstream?: JetStreamCeiling;
  telemetry?: TelemetryRun;
  templates?: TemplatesRun;
  render?: RenderRun;
  runtimes?: RuntimesRun;
  memory: MemoryFigures;
  soak?: { seconds: number; sampleEveryS: number; e2e: E2eRun; memory: MemoryFigures };
  notes: string[];
}
