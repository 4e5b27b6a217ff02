// The docs against the tree they describe: the README's shape, every relative
// link and its anchor, the configuration page against schemas/config.ts, and
// the paths, functions, commands, scripts, config keys, metrics and alerts the
// pages name.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { z } from "zod";
import pkg from "../package.json" with { type: "json" };
import { ConfigSchema } from "../schemas/config.ts";
import { PRIORITIES } from "../schemas/enums.ts";
import { METRIC_NAMES } from "../schemas/metrics.ts";
import { topology } from "../schemas/subjects.ts";
import * as heraldClient from "@herald/client";

const ROOT = join(import.meta.dir, "..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

/** Every page a reader follows: the README, docs/ with its notes, the bench's README. */
const PAGES = [
  "README.md",
  "bench/README.md",
  ...readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`)
    .sort(),
];
/** The manual's pages, whose paths must name what exists today; dated notes may name what was. */
const CURRENT_PAGES = PAGES.filter((p) => !p.startsWith("docs/notes/"));

const FENCED = /^```[^\n]*\n[\s\S]*?^```$/gm;
/** The text a reader sees as prose: fenced code removed. */
const prose = (text: string) => text.replace(FENCED, "");
const codeBlocks = (text: string) => [...text.matchAll(FENCED)].map((m) => m[0]);
const inlineCode = (text: string) => [...prose(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? "");

/** GitHub's heading anchors: markup and punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading = ""] of prose(text).matchAll(/^#{1,6} +(.+?)#*\s*$/gm)) {
    const base = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** `[text](target)` and `![alt](target)` outside code, as written. */
function linksOf(text: string): string[] {
  const visible = prose(text).replace(/`[^`\n]*`/g, "``");
  return [...visible.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? "");
}

/** Directories .gitignore keeps out of the tree (build outputs, data): a path under one need not exist in a checkout. */
const IGNORED_DIRS = read(".gitignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => /^[\w.-]+\/$/.test(l));

const TOP_LEVEL = new Set(readdirSync(ROOT));
/**
 * A repository path written in backticks: segments joined by slashes that
 * start at a top-level entry or end in a file name (`application/json` is neither).
 */
const isRepoPath = (s: string) =>
  /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.*-]*)+$/.test(s) && (TOP_LEVEL.has(s.split("/")[0] ?? "") || /\.(ts|mjs|json|md|ya?ml|sql)$/.test(s));

function pathExists(p: string): boolean {
  if (IGNORED_DIRS.some((d) => p.startsWith(d))) return true;
  if (p.includes("*")) return new Bun.Glob(p).scanSync({ cwd: ROOT, onlyFiles: false }).next().done === false;
  return existsSync(join(ROOT, p));
}

describe("README.md", () => {
  const readme = read("README.md");

  test("is a product page of at most 300 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(300);
  });

  test("starts with what Herald is, then the two commands npm start and npm test", () => {
    const first = codeBlocks(readme)[0] ?? "";
    expect(readme.indexOf(first)).toBeLessThan(readme.indexOf("\n## "));
    const commands = first
      .split("\n")
      .slice(1, -1)
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter(Boolean);
    expect(commands.slice(0, 2)).toEqual(["npm start", "npm test"]);
    expect(readme.slice(0, readme.indexOf(first))).toMatch(/^# Herald\n\nHerald is /);
  });

  test("links every page of docs/ and ends with how to develop: the import-rule test, the linter and the formatter", () => {
    for (const page of readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"))) {
      expect({ page, linked: readme.includes(`](docs/${page})`) }).toEqual({ page, linked: true });
    }
    const development = readme.slice(readme.indexOf("\n## Development\n"));
    expect(readme.includes("\n## Development\n")).toBe(true);
    for (const named of [
      "test/architecture.test.ts",
      "bin → gateway | processor → lib → schemas",
      "gateway/app.ts",
      "Biome",
      "npm run lint",
      "biome check .",
      "npm run format",
    ]) {
      expect({ named, inDevelopment: development.includes(named) }).toEqual({ named, inDevelopment: true });
    }
  });
});

describe("links", () => {
  for (const page of PAGES) {
    test(`every relative link in ${page} resolves, and its anchor exists`, () => {
      const bad: string[] = [];
      for (const link of linksOf(read(page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
        const [path = "", anchor] = link.split("#");
        const target = path === "" ? join(ROOT, page) : resolve(ROOT, dirname(page), path);
        const rel = relative(ROOT, target);
        if (rel.startsWith("..") || !existsSync(target)) {
          bad.push(`${link}: no such file`);
          continue;
        }
        if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor)) bad.push(`${link}: no heading #${anchor}`);
      }
      expect(bad).toEqual([]);
    });
  }
});

describe("docs/configuration.md", () => {
  const page = read("docs/configuration.md");
  const shape = ConfigSchema.shape as Record<string, z.ZodType>;
  /** Table rows whose first cell is one backticked variable: variable → the row's cells. */
  const rows = new Map<string, string[]>();
  const repeated: string[] = [];
  for (const line of prose(page).split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const key = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? "")?.[1];
    if (!line.startsWith("|") || key === undefined) continue;
    if (rows.has(key)) repeated.push(key);
    rows.set(key, cells.slice(1, -1));
  }

  test("lists exactly the environment keys schemas/config.ts reads, each once", () => {
    expect(repeated).toEqual([]);
    expect([...rows.keys()].sort()).toEqual(Object.keys(shape).sort());
  });

  test("gives each key's default as the schema has it", () => {
    for (const [key, schema] of Object.entries(shape)) {
      const parsed = schema.safeParse(undefined);
      const value = parsed.success ? parsed.data : undefined;
      if (typeof value !== "number" && (typeof value !== "string" || value === "")) continue;
      const cell = rows.get(key)?.[1] ?? "";
      expect({ key, default: cell.includes(`\`${value}\``) ? value : cell }).toEqual({ key, default: value });
    }
  });
});

describe("docs/architecture.md", () => {
  const page = read("docs/architecture.md");

  test("every repository path it writes in backticks exists", () => {
    const missing = inlineCode(page).filter((s) => isRepoPath(s) && !pathExists(s));
    expect(missing).toEqual([]);
  });

  test("every function it names after a file, `name()`, is in that file", () => {
    const missing: string[] = [];
    // A paragraph or a table row; a name belongs to the file written last before it.
    for (const block of prose(page).split(/\n\s*\n|\n(?=\|)/)) {
      let file: string | undefined;
      for (const code of [...block.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? "")) {
        if (isRepoPath(code) && /\.(ts|mjs)$/.test(code)) file = code;
        const fn = /^([A-Za-z_$][\w$]*)\(\)$/.exec(code)?.[1];
        if (fn !== undefined && file !== undefined && !read(file).includes(fn)) missing.push(`${file}: ${fn}()`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe("what the pages name", () => {
  const configKeys = new Set(Object.keys(ConfigSchema.shape));
  const topo = topology("herald");
  const streamsAndConsumers = new Set<string>([...Object.values(topo.streams), ...PRIORITIES.map((p) => topo.laneConsumer(p))]);
  const commands = JSON.parse((/export const COMMANDS = (\[[^\]]*\]) as const/.exec(read("bin/cli.ts"))?.[1] ?? "[]").replace(/,\s*\]$/, "]")) as string[];
  const alerts = new Set([...read("deploy/prometheus/alerts.yml").matchAll(/- alert: (\w+)/g)].map((m) => m[1] ?? ""));
  const series = new Set(METRIC_NAMES.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));

  test("the CLI's commands are read from bin/cli.ts", () => {
    expect(commands).toContain("migrate");
  });

  for (const page of PAGES) {
    test(`${page}: config keys, npm scripts, herald commands, metrics and alerts exist`, () => {
      const text = read(page);
      const unknown: string[] = [];
      for (const [key] of text.matchAll(/\b(?:HERALD|OTEL|TWILIO|UPSTASH)_[A-Z0-9_]+\b/g)) {
        if (!configKeys.has(key) && !streamsAndConsumers.has(key)) unknown.push(`variable ${key}`);
      }
      for (const [, script = ""] of text.matchAll(/\bnpm run ([\w:-]+)/g)) if (!(script in pkg.scripts)) unknown.push(`npm run ${script}`);
      const commandLines = [...inlineCode(text), ...codeBlocks(text).flatMap((b) => b.split("\n"))];
      for (const line of commandLines) {
        const command = /^\s*(?:dist\/)?herald ([a-z][a-z-]*)/.exec(line)?.[1];
        if (command !== undefined && !commands.includes(command)) unknown.push(`herald ${command}`);
      }
      for (const [name] of text.matchAll(/\bherald_[a-z_]+\b/g)) if (!series.has(name)) unknown.push(`metric ${name}`);
      // `HeraldClient`, `HeraldError`, …: what @herald/client exports, not alerts.
      for (const [name] of text.matchAll(/\bHerald[A-Z][A-Za-z]+\b/g)) if (!alerts.has(name) && !(name in heraldClient)) unknown.push(`alert ${name}`);
      expect(unknown).toEqual([]);
    });
  }

  for (const page of CURRENT_PAGES) {
    test(`${page}: every repository path in backticks exists`, () => {
      expect(inlineCode(read(page)).filter((s) => isRepoPath(s) && !pathExists(s))).toEqual([]);
    });
  }
});
