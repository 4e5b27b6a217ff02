#!/usr/bin/env node
// Makes `npm start` / `npm test` work on a fresh machine: installs the pinned
// Bun from the npm registry into .tools/, installs the locked dependencies,
// then hands over to Bun. Plain Node, no dependencies: it runs before any exist.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const want = pkg.herald.bunVersion;
const tools = join(root, ".tools");
const bun = join(tools, "node_modules", "bun", "bin", "bun.exe");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function bunVersion() {
  if (!existsSync(bun)) return null;
  const r = spawnSync(bun, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function ensureBun() {
  if (bunVersion() === want) return;
  console.error(`[herald] installing bun@${want} into .tools/ (npm registry)`);
  mkdirSync(tools, { recursive: true });
  writeFileSync(join(tools, "package.json"), JSON.stringify({ private: true }));
  const status = run("npm", ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", tools, `bun@${want}`]);
  if (status !== 0 || bunVersion() !== want) {
    console.error(`[herald] could not install bun@${want}`);
    process.exit(1);
  }
}

function ensureDependencies() {
  const marker = join(root, "node_modules", ".herald-lock");
  const lock = createHash("sha256")
    .update(readFileSync(join(root, "bun.lock")))
    .update(readFileSync(join(root, "package.json")))
    .digest("hex");
  if (existsSync(marker) && readFileSync(marker, "utf8") === lock) return;
  console.error("[herald] installing locked dependencies (bun install --frozen-lockfile)");
  const status = run(bun, ["install", "--frozen-lockfile"]);
  if (status !== 0) process.exit(status);
  writeFileSync(marker, lock);
}

ensureBun();
ensureDependencies();

const [mode, ...rest] = process.argv.slice(2);
// Herald's runtime settings (lib/runtime-env.ts says why), under anything the caller set.
const env = {
  ...pkg.herald.runtimeEnv,
  ...process.env,
  PATH: `${join(tools, "node_modules", ".bin")}:${join(root, "node_modules", ".bin")}:${process.env.PATH}`,
};
const commands = {
  run: () => run(bun, rest, { env }),
  exec: () => run(bun, ["x", ...rest], { env }),
  test: () => run(bun, [join(root, "test", "run.ts"), ...rest], { env }),
  install: () => 0,
};
if (!Object.hasOwn(commands, mode ?? "")) {
  console.error("usage: bootstrap.mjs run <file> [args] | exec <bin> [args] | test [filters] | install");
  process.exit(2);
}
process.exit(commands[mode]());
