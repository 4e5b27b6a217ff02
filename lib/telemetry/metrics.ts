/**
 * The prom-client side of telemetry: one Registry holding every catalogue
 * metric (schemas/metrics.ts) exactly as declared, the default process
 * metrics, and every bounded label combination created at 0 (see the
 * catalogue header: `increase()` cannot see a series that appears at 1).
 *
 * In `herald all` one `createMetrics()` serves both halves, so there is one
 * `/metrics` page; `herald gateway` and `herald processor` each make their own.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Channel } from "../../schemas/enums.ts";
import { BREAKER_STATE_VALUES, labelNames, METRICS, STREAM_REPLICA_STATES, type LabelName, type LabelSpec, type MetricKey } from "../../schemas/metrics.ts";
import { withDeadline } from "../deadline.ts";
import type { ConsumerStats, MetricsRecorder } from "./recorder.ts";

/** The prom-client class of one catalogue metric, with its label names as the type parameter. */
export type PromMetric<K extends MetricKey> = (typeof METRICS)[K]["type"] extends "counter"
  ? Counter<LabelName<K>>
  : (typeof METRICS)[K]["type"] extends "gauge"
    ? Gauge<LabelName<K>>
    : Histogram<LabelName<K>>;

export interface MetricsOptions {
  /**
   * The gateway's routes (Hono's `app.routes`: `{ method, path }`); each pair is
   * created at 0 per status class. Entries with method `ALL` (middleware) are skipped.
   */
  routes?: ReadonlyArray<{ method: string; path: string }>;
  /** Each channel's providers, in order (the processor's routes): provider series are created at 0 per channel. */
  providers?: Readonly<Partial<Record<Channel, readonly string[]>>>;
  /** Default process metrics (CPU, memory, fds, event loop); on unless a test turns them off. */
  processMetrics?: boolean;
  /** How long `render()` waits for the collectors (`addCollector`) before answering with what it has. */
  collectTimeoutMs?: number;
  /** Told about a collector that threw or timed out; the scrape still answers. */
  onCollectError?: (err: unknown) => void;
}

export interface HeraldMetrics extends MetricsRecorder {
  readonly registry: Registry;
  /** `text/plain; version=0.0.4; charset=utf-8`, the exposition format `render()` writes. */
  readonly contentType: string;
  /** Runs the collectors, then renders the exposition text for a `/metrics` response. */
  render(): Promise<string>;
  /** A refresh to run before each scrape (e.g. JetStream consumer info → the consumer gauges). */
  addCollector(collect: () => void | Promise<void>): void;
  /**
   * Creates the route and provider series at 0 once the app and the senders
   * exist (they are built after the registry). Call before serving: series
   * already created are left alone, but a histogram series first observed and
   * only then named here would be reset.
   */
  initSeries(known: Pick<MetricsOptions, "routes" | "providers">): void;
  /** The prom-client object of one catalogue metric, typed by its labels. */
  metric<K extends MetricKey>(key: K): PromMetric<K>;
}

const HTTP_METHODS = new Set<string>(METRICS.httpRequests.labels.method.values);
const STATUS_CLASSES = METRICS.httpRequests.labels.status_class.values;

/** `200` → `2xx`, `499` (client closed request) → `4xx`; anything outside 100..599 counts as a server error. */
export function statusClass(status: number): (typeof STATUS_CLASSES)[number] {
  return STATUS_CLASSES[Math.floor(status / 100) - 1] ?? "5xx";
}

/**
 * Label children cached in nested Maps keyed by each value, so the hot path
 * does two or three Map lookups instead of prom-client's per-call label
 * validation in `labels()`, and allocates nothing once a combination was seen.
 */
class ChildCache<C> {
  private readonly root = new Map<string, unknown>();
  constructor(private readonly make: (values: string[]) => C) {}

  private level<V>(map: Map<string, unknown>, key: string, create: () => V): V {
    let v = map.get(key) as V | undefined;
    if (v === undefined) {
      v = create();
      map.set(key, v);
    }
    return v;
  }

  get1(a: string): C {
    return this.level(this.root, a, () => this.make([a]));
  }
  get2(a: string, b: string): C {
    return this.level(
      this.level(this.root, a, () => new Map<string, unknown>()),
      b,
      () => this.make([a, b]),
    );
  }
  get3(a: string, b: string, c: string): C {
    const m2 = this.level(
      this.level(this.root, a, () => new Map<string, unknown>()),
      b,
      () => new Map<string, unknown>(),
    );
    return this.level(m2, c, () => this.make([a, b, c]));
  }
}

type Row = Record<string, string>;

function cross(rows: Row[], values: Row[]): Row[] {
  return rows.flatMap((r) => values.map((v) => ({ ...r, ...v })));
}

/**
 * Every label combination of a metric that can be known at start: closed sets
 * in full, route × method as registered, provider × channel as the routes
 * say. A metric with a code-bounded label nobody supplied gets no zero series.
 */
export function zeroCombinations(key: MetricKey, opts: Pick<MetricsOptions, "routes" | "providers">): Row[] {
  const labels: Readonly<Record<string, LabelSpec>> = METRICS[key].labels;
  const names = Object.keys(labels);
  const done = new Set<string>();
  let rows: Row[] = [{}];
  const routes = (opts.routes ?? []).filter((r) => r.method !== "ALL");
  if (names.includes("route")) {
    if (names.includes("method")) {
      const pairs = new Map(routes.map((r) => [`${r.method} ${r.path}`, { route: r.path, method: HTTP_METHODS.has(r.method) ? r.method : "other" }]));
      rows = cross(rows, [...pairs.values()]);
      done.add("method");
    } else {
      // Only POSTs are idempotent (Idempotency-Key), so only they can replay.
      const posts = [...new Set(routes.filter((r) => r.method === "POST").map((r) => r.path))];
      rows = cross(
        rows,
        posts.map((route) => ({ route })),
      );
    }
    done.add("route");
  }
  if (names.includes("provider")) {
    const known = Object.entries(opts.providers ?? {}).flatMap(([channel, names]) => (names ?? []).map((provider) => ({ channel, provider })));
    const pairs = names.includes("channel") ? known : [...new Set(known.map((k) => k.provider))].map((provider) => ({ provider }));
    rows = cross(rows, pairs);
    done.add("provider");
    if (names.includes("channel")) done.add("channel");
  }
  for (const name of names) {
    if (done.has(name)) continue;
    const spec = labels[name];
    if (spec === undefined || !("values" in spec)) return [];
    rows = cross(
      rows,
      spec.values.map((v) => ({ [name]: v })),
    );
  }
  return rows;
}

function register(registry: Registry, key: MetricKey, collect?: () => void): Counter | Gauge | Histogram {
  const def = METRICS[key];
  const base = { name: def.name, help: def.help, labelNames: labelNames(key), registers: [registry] };
  switch (def.type) {
    case "counter":
      return new Counter(base);
    case "gauge":
      return collect ? new Gauge({ ...base, collect }) : new Gauge(base);
    case "histogram":
      return new Histogram({ ...base, buckets: [...("buckets" in def ? def.buckets : [])] });
  }
}

/** A Registry with the whole catalogue, ready to record and to be scraped. */
export function createMetrics(opts: MetricsOptions = {}): HeraldMetrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // Plain numbers on the hot path; the gauges read them when scraped.
  let httpInFlight = 0;
  let dbInFlight = 0;
  let dbPoolMax = 0;

  const all = new Map<MetricKey, Counter | Gauge | Histogram>();
  for (const key of Object.keys(METRICS) as MetricKey[]) {
    const collect =
      key === "httpInFlight"
        ? function (this: Gauge) {
            this.set(httpInFlight);
          }
        : key === "dbPoolActive"
          ? function (this: Gauge) {
              this.set(Math.min(dbInFlight, dbPoolMax || dbInFlight));
            }
          : key === "dbPoolWaiting"
            ? function (this: Gauge) {
                this.set(dbPoolMax > 0 ? Math.max(0, dbInFlight - dbPoolMax) : 0);
              }
            : undefined;
    all.set(key, register(registry, key, collect));
  }
  const metric = <K extends MetricKey>(key: K): PromMetric<K> => all.get(key) as PromMetric<K>;

  // Keys of the series already created at 0, so a later `initSeries` never resets one (histogram.zero would).
  const zeroed = new Set<string>();
  const initSeries = (known: Pick<MetricsOptions, "routes" | "providers">) => {
    for (const key of Object.keys(METRICS) as MetricKey[]) {
      const m = all.get(key);
      for (const row of zeroCombinations(key, known)) {
        const id = `${key}${JSON.stringify(row)}`;
        if (zeroed.has(id)) continue;
        zeroed.add(id);
        if (m instanceof Counter) m.inc(row, 0);
        else if (m instanceof Gauge) m.set(row, 0);
        else m?.zero(row);
      }
    }
  };
  initSeries(opts);

  const httpRequests = metric("httpRequests");
  const httpDuration = metric("httpRequestDuration");
  const http = new ChildCache(([route = "", method = "", cls = ""]) => ({
    count: httpRequests.labels(route, method, cls),
    duration: httpDuration.labels(route, method, cls),
  }));
  const accepted = new ChildCache((v) => metric("notificationsAccepted").labels(...v));
  const replays = new ChildCache((v) => metric("idempotencyReplays").labels(...v));
  const limited = new ChildCache((v) => metric("rateLimited").labels(...v));
  const capped = new ChildCache((v) => metric("dailyCapRefused").labels(...v));
  const publish = new ChildCache((v) => metric("publishDuration").labels(...v));
  const sent = new ChildCache((v) => metric("notificationsSent").labels(...v));
  const failed = new ChildCache((v) => metric("notificationsFailed").labels(...v));
  const endToEnd = new ChildCache((v) => metric("endToEnd").labels(...v));
  const provider = new ChildCache((v) => metric("providerRequestDuration").labels(...v));
  const db = new ChildCache((v) => metric("dbQueryDuration").labels(...v));
  const waits = new ChildCache((v) => metric("providerWaits").labels(...v));
  const undelivered = new ChildCache((v) => metric("notificationsUndelivered").labels(...v));

  const collectors: Array<() => void | Promise<void>> = [];
  const collectTimeoutMs = opts.collectTimeoutMs ?? 2_000;

  return {
    registry,
    contentType: registry.contentType,
    metric,
    initSeries,
    addCollector(collect) {
      collectors.push(collect);
    },
    async render() {
      const results = await Promise.allSettled(
        collectors.map((c) =>
          withDeadline(Promise.resolve().then(c), collectTimeoutMs, () => new Error(`metrics collector gave no answer within ${collectTimeoutMs} ms`)),
        ),
      );
      for (const r of results) if (r.status === "rejected") opts.onCollectError?.(r.reason);
      return registry.metrics();
    },

    httpRequest(route, method, status, seconds) {
      const c = http.get3(route, HTTP_METHODS.has(method) ? method : "other", statusClass(status));
      c.count.inc();
      c.duration.observe(seconds);
    },
    httpInFlight(delta) {
      httpInFlight += delta;
    },
    accepted(channel, lane, n = 1) {
      accepted.get2(channel, lane).inc(n);
    },
    idempotencyReplay(route) {
      replays.get1(route).inc();
    },
    rateLimited(route) {
      limited.get1(route).inc();
    },
    dailyCapRefused(channel, n) {
      capped.get1(channel).inc(n);
    },
    publishDuration(stream, outcome, seconds) {
      publish.get2(stream, outcome).observe(seconds);
    },
    sent(channel, lane, providerName) {
      sent.get3(channel, lane, providerName).inc();
    },
    failed(channel, lane, reason) {
      failed.get3(channel, lane, reason).inc();
    },
    endToEnd(channel, lane, seconds) {
      endToEnd.get2(channel, lane).observe(seconds);
    },
    scheduleReleased(count, lagSeconds) {
      metric("scheduleReleased").inc(count);
      metric("scheduleLag").observe(lagSeconds);
    },
    providerRequest(providerName, channel, outcome, seconds) {
      provider.get3(providerName, channel, outcome).observe(seconds);
    },
    breakerState(channel, providerName, state) {
      metric("providerBreakerState").set({ channel, provider: providerName }, BREAKER_STATE_VALUES[state]);
    },
    undelivered(channel, lane, status) {
      undelivered.get3(channel, lane, status).inc();
    },
    providerWait(channel) {
      waits.get1(channel).inc();
    },
    dbQuery(operation, outcome, seconds) {
      db.get2(operation, outcome).observe(seconds);
    },
    dbInFlight(delta) {
      dbInFlight += delta;
    },
    dbPoolMax(connections) {
      dbPoolMax = connections;
      metric("dbPoolMax").set(connections);
    },
    consumer(lane, stats: ConsumerStats) {
      metric("consumerPending").set({ lane }, stats.pending);
      metric("consumerAckPending").set({ lane }, stats.ackPending);
      metric("consumerRedelivered").set({ lane }, stats.redelivered);
      metric("consumerMaxAckPending").set({ lane }, stats.maxAckPending);
    },
    dlqMessages(channel, messages) {
      metric("dlqMessages").set({ channel }, messages);
    },
    streamReplicas(stream, replicas) {
      const gauge = metric("streamReplicas");
      // Unknown is absent, not the last value read: a frozen count would hide a lost replica or leader.
      for (const state of STREAM_REPLICA_STATES) {
        if (replicas === undefined) gauge.remove({ stream, state });
        else gauge.set({ stream, state }, replicas[state]);
      }
    },
    natsConnected(up) {
      metric("natsConnected").set(up ? 1 : 0);
    },
    retentionRemoved(table, how, rows) {
      metric("retentionRemoved").inc({ table, how }, rows);
    },
  };
}
