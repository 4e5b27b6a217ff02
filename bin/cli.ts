import pkg from "../package.json" with { type: "json" };

/** The commands of `herald`, each a file under bin/commands/. */
export const COMMANDS = ["all", "gateway", "processor", "migrate", "replay", "keys", "retention", "events"] as const;
export type Command = (typeof COMMANDS)[number];

const SUMMARY: Record<Command, string> = {
  all: "gateway and processor in one process, with embedded fallbacks (development)",
  gateway: "the HTTP gateway: validates, dedupes and publishes notifications",
  processor: "the stream processor: sends notifications and records their state",
  migrate: "applies the database migrations and creates or updates the streams, then exits",
  replay: "hands failed notifications back to the processor once their cause is fixed",
  keys: "creates, lists, rotates and revokes managed API keys",
  retention: "removes the notifications and attempts past their tenant's retention, now",
  events: "replays a window of the lifecycle events, or checks them against Postgres",
};

const DETAIL: Record<Command, string> = {
  all: `Runs what \`npm start\` runs. Uses NATS, Postgres and Redis on their standard
loopback ports when they answer; otherwise a nats-server child process, PGlite
under HERALD_DATA_DIR and an in-memory idempotency store. Migrates the database
and the streams itself, listens on 127.0.0.1 unless HERALD_HOST says otherwise,
and prints a dev API key and a curl to try.`,
  gateway: `Serves the API on HERALD_HOST:HERALD_PORT (0.0.0.0:8080). Needs HERALD_API_KEYS,
NATS_URL and DATABASE_URL (REDIS_URL or Upstash for idempotency across gateways).
Refuses to start until \`herald migrate\` has run against the same database and NATS.`,
  processor: `Consumes the lanes as one member of the consumer group; serves /metrics and the
probes on HERALD_METRICS_PORT (9464). Needs NATS_URL, DATABASE_URL and
HERALD_WEBHOOK_SECRET. Refuses to start until \`herald migrate\` has run.`,
  migrate: "Safe to run on every deploy and from several places at once (they take turns).",
  replay: `Reads the failed rows from Postgres (their dead letters may have aged out of the
stream) and hands them to the scheduler with a fresh retry budget.

  --channel <channel>   only this channel's
  --tenant <tenant>     only this tenant's
  --since <iso time>    only those that failed after this time (with its offset)
  --limit <n>           at most this many
  --dry-run             say what would be replayed; change nothing`,
  keys: `Manages API keys in Postgres as /admin/v1/api-keys does; each change is in the
audit log with the actor \`cli\`, and every gateway applies it within 5 s.
Prints JSON; a created or rotated key is shown this once (only its hash is kept).

  herald keys create --tenant <id> --scopes send,read,inbox,admin [--name <text>] [--expires-at <iso time>]
  herald keys list [--tenant <id>]
  herald keys rotate <key id> [--grace-seconds <n>]   (default HERALD_KEY_ROTATION_GRACE_S)
  herald keys revoke <key id>`,
  retention: `One retention pass, as each processor runs every HERALD_RETENTION_INTERVAL_S:
month partitions past the longest retention of any tenant are dropped, and the
expired rows of tenants with a shorter one are deleted in batches. A
notification still waiting (scheduled, retrying) is never removed. Prints its
report as one JSON line; when another pass is running it says so and exits.

  --dry-run   count what would be removed; change nothing`,
  events: `Time travel over the events stream, as far back as it keeps them
(HERALD_EVENTS_MAX_AGE_DAYS): docs/time-travel.md. A time is ISO 8601 with its
offset (2026-12-07T06:00:00Z) or a time ago (-90s, -15m, -2h, -7d).

  herald events replay --since <time> [--until <time>] [--type <type>]… [--tenant <id>] [--to <target>]
      the events whose stream time is in [since, until) (until: the stream's end
      when the replay starts), in stream order; --type repeats or takes a comma list
      --to stdout            NDJSON, one event per line (the default)
      --to nats:<subject>    published there, Nats-Msg-Id = eventId (not a subject of Herald's streams)
      --to http(s)://…       POSTed one by one as JSON, Idempotency-Key = eventId;
                             stops at the first answer that is not 2xx (--timeout-ms, default 10000)
      a one-line summary (count, first and last time) goes to stderr

  herald events check --since <time> [--until <time>] [--tenant <id>] [--repair]
      rebuilds the status of each notification created in [since, until) (until: now)
      from its events and compares it with Postgres; prints each drift as a JSON line
      and a summary; exits 1 on drift, 0 when clean
      --repair   publishes, for each drifting row, the event of its current status`,
};

export function version(): string {
  return `herald ${pkg.version}`;
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.length));
  return [
    "usage: herald <command> [options]",
    "",
    ...COMMANDS.map((c) => `  ${c.padEnd(width)}  ${SUMMARY[c]}`),
    "",
    "  herald <command> --help   what a command needs and does",
    "  herald --version",
    "",
    "Configuration comes from the environment: docs/configuration.md.",
  ].join("\n");
}

export function commandHelp(command: Command): string {
  return [
    `usage: herald ${command}${command === "replay" || command === "retention" ? " [options]" : command === "keys" || command === "events" ? " <action> [options]" : ""}`,
    "",
    SUMMARY[command],
    "",
    DETAIL[command],
  ].join("\n");
}

/** What the command line asks for. */
export type Invocation = { kind: "run"; command: Command; args: string[] } | { kind: "print"; text: string; exitCode: number };

export function parseInvocation(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") return { kind: "print", text: version(), exitCode: 0 };
  if (first === undefined || first === "--help" || first === "-h" || first === "help")
    return { kind: "print", text: usage(), exitCode: first === undefined ? 2 : 0 };
  const command = COMMANDS.find((c) => c === first);
  if (command === undefined) return { kind: "print", text: `herald: unknown command "${first}"\n\n${usage()}`, exitCode: 2 };
  if (rest.includes("--help") || rest.includes("-h")) return { kind: "print", text: commandHelp(command), exitCode: 0 };
  return { kind: "run", command, args: rest };
}
