#!/usr/bin/env bun
// `herald <command>`: the one entry of every deployment; each command is a file under bin/commands/.
import { parseInvocation, type Command } from "./cli.ts";
import { all } from "./commands/all.ts";
import { gateway } from "./commands/gateway.ts";
import { migrate } from "./commands/migrate.ts";
import { processor } from "./commands/processor.ts";
import { replay } from "./commands/replay.ts";
import { keys } from "./commands/keys.ts";
import { retention } from "./commands/retention.ts";
import { events } from "./commands/events.ts";
import { ConfigError, parseConfig, type HeraldConfig } from "../schemas/config.ts";
import { runProcess, type ProcessContext } from "./lifecycle.ts";

const invocation = parseInvocation(process.argv.slice(2));
if (invocation.kind === "print") {
  (invocation.exitCode === 0 ? console.log : console.error)(invocation.text);
  process.exit(invocation.exitCode);
}
const { command, args } = invocation;

let cfg: HeraldConfig;
let start: (ctx: ProcessContext) => Promise<void>;
try {
  // Configuration and flags are checked before anything connects: a mistake is one plain line, at once.
  cfg = parseConfig(process.env);
  // `events` prints its findings on stdout, where log lines go too: only warnings and worse join them there.
  if (command === "events" && ["info", "debug", "trace"].includes(cfg.LOG_LEVEL)) cfg = { ...cfg, LOG_LEVEL: "warn" };
  start = commandFor(command, args);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(78);
}

await runProcess(cfg, `herald-${command}`, start, command === "all" || command === "gateway" || command === "processor");

function commandFor(command: Command, args: string[]): (ctx: ProcessContext) => Promise<void> {
  if (command !== "replay" && command !== "keys" && command !== "retention" && command !== "events" && args.length > 0)
    throw new ConfigError([], `herald ${command} takes no arguments, got: ${args.join(" ")}`);
  switch (command) {
    case "all":
      return all;
    case "gateway":
      return gateway;
    case "processor":
      return processor;
    case "migrate":
      return migrate;
    case "replay":
      return replay(args);
    case "keys":
      return keys(args);
    case "retention":
      return retention(args);
    case "events":
      return events(args);
    default:
      return command satisfies never;
  }
}
