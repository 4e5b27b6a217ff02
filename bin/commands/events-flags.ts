import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigError } from "../../schemas/config.ts";
import { EVENT_TYPES, type EventType } from "../../schemas/enums.ts";
import type { Topology } from "../../schemas/subjects.ts";

/** Where `herald events replay` sends the events it reads. */
export type ReplayTarget = { kind: "stdout" } | { kind: "nats"; subject: string } | { kind: "http"; url: string; timeoutMs: number };

/** What `herald events …` asks for, checked before anything connects. */
export type EventsAction =
  | { kind: "replay"; since: Date; until?: Date; types?: EventType[]; tenant?: string; to: ReplayTarget }
  | { kind: "check"; since: Date; until?: Date; tenant?: string; repair: boolean };

const FLAGS = {
  since: { type: "string" },
  until: { type: "string" },
  type: { type: "string", multiple: true },
  tenant: { type: "string" },
  to: { type: "string" },
  "timeout-ms": { type: "string" },
  repair: { type: "boolean" },
} as const;

const RELATIVE = /^-(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const Iso = z.iso.datetime({ offset: true });

/** An ISO 8601 time with its offset, or a time ago: `-90s`, `-15m`, `-2h`, `-7d`. */
export function parseTime(text: string, now: Date): Date | undefined {
  const rel = RELATIVE.exec(text);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  return Iso.safeParse(text).success ? new Date(text) : undefined;
}

function refuse(message: string): never {
  throw new ConfigError(["events"], `invalid events command:\n  ${message}\n\nusage: herald events replay|check --since <time> …  (herald events --help)`);
}

function time(flag: string, text: string | undefined, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  return parseTime(text, now) ?? refuse(`--${flag}: an ISO 8601 time with its offset (2026-12-07T06:00:00Z) or a time ago (-15m, -2h, -7d), got "${text}"`);
}

function target(to: string | undefined, timeoutText: string | undefined): ReplayTarget {
  const timeoutMs = timeoutText === undefined ? 10_000 : Number(timeoutText);
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 600_000)) refuse("--timeout-ms: a whole number of milliseconds from 1 to 600000");
  if (to === undefined || to === "stdout") return { kind: "stdout" };
  if (to.startsWith("nats:")) {
    const subject = to.slice("nats:".length);
    if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(subject)) refuse(`--to nats:<subject>: a subject to publish to, no wildcards, got "${subject}"`);
    return { kind: "nats", subject };
  }
  if (/^https?:\/\//i.test(to) && URL.canParse(to)) return { kind: "http", url: to, timeoutMs };
  return refuse(`--to: stdout, nats:<subject> or an http(s):// URL, got "${to}"`);
}

/**
 * A subject one of the namespace's own streams stores (the events stream's
 * above all: republishing there would feed the events back into themselves).
 */
export function ownSubject(subject: string, topo: Topology): string | undefined {
  for (const [name, wildcard] of Object.entries(topo.wildcards)) {
    const prefix = wildcard.slice(0, -1);
    if (subject.startsWith(prefix) && subject.length > prefix.length) return topo.streams[name as keyof Topology["streams"]];
  }
  return undefined;
}

/** `--since -15m` as `--since=-15m`: parseArgs takes a value that starts with a dash for another option. */
function joinRelativeTimes(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [arg, next] = [args[i] as string, args[i + 1]];
    if ((arg === "--since" || arg === "--until") && next !== undefined && RELATIVE.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** `herald events replay --since t [--until t] [--type x]… [--tenant t] [--to …]` or `herald events check --since t [--until t] [--tenant t] [--repair]`. */
export function eventsAction(args: string[], now = new Date()): EventsAction {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; strict: true; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: joinRelativeTimes(args), options: FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    return refuse(err instanceof Error ? err.message : String(err));
  }
  const { values: v, positionals } = parsed;
  const [verb, ...rest] = positionals;
  if (rest.length > 0) refuse(`unexpected ${rest.join(" ")}`);
  if (verb !== "replay" && verb !== "check") return refuse(verb === undefined ? "say what to do: replay or check" : `unknown action "${verb}"`);
  const since = time("since", v.since, now) ?? refuse("--since is required");
  const until = time("until", v.until, now);
  if (until !== undefined && until <= since) refuse("--until must be after --since");
  if (v.tenant !== undefined && v.tenant.length === 0) refuse("--tenant: a tenant id");
  const window = { since, ...(until ? { until } : {}), ...(v.tenant ? { tenant: v.tenant } : {}) };
  if (verb === "check") {
    for (const flag of ["type", "to", "timeout-ms"] as const) if (v[flag] !== undefined) refuse(`--${flag} is for replay`);
    return { kind: "check", ...window, repair: v.repair ?? false };
  }
  if (v.repair !== undefined) refuse("--repair is for check");
  const types = (v.type ?? []).flatMap((t) => t.split(",")).map((t) => t.trim());
  const bad = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (bad.length > 0) refuse(`--type: one of ${EVENT_TYPES.join(", ")}; got ${bad.join(", ")}`);
  return {
    kind: "replay",
    ...window,
    ...(types.length > 0 ? { types: [...new Set(types)] as EventType[] } : {}),
    to: target(v.to, v["timeout-ms"]),
  };
}
