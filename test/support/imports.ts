// The import graph as `tsc` resolves it, checked against the layer rules; `bun test/support/imports.ts` prints every violation.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export const repoRoot = resolve(import.meta.dir, "..", "..");

const SOURCE_DIRS = ["bin", "gateway", "processor", "lib", "schemas", "test", "bench", "sdk"];
const SOURCE_EXT = /\.(ts|tsx|mjs)$/;
const TEST_FILE = /\.(test|bench)\.ts$/;
const PRODUCT_DIRS = ["bin", "gateway", "processor", "lib", "schemas"];
/** Repo-root data a layer may read (the version string), not a layer itself. */
const ROOT_DATA = new Set(["package.json"]);

/** Packages that do I/O or tie code to a runtime, kept out of `schemas/`; "x/" is a scope, and every `bun*` and Node builtin counts too. */
export const IO_PACKAGES = [
  "postgres",
  "@nats-io/",
  "@electric-sql/pglite",
  "@upstash/redis",
  "ioredis",
  "nodemailer",
  "smtp-server",
  "pino",
  "pino-pretty",
  "prom-client",
  "@opentelemetry/otlp-exporter-base",
  "@opentelemetry/otlp-transformer",
  "@opentelemetry/sdk-trace",
  "drizzle-orm/postgres-js",
  "drizzle-orm/pglite",
  "drizzle-orm/migrator",
  "drizzle-kit",
  "hono/bun",
  "express",
  "fastify",
  "autocannon",
];

export type Edge = {
  from: string;
  /** A repo-relative path for a file, the specifier for a package or builtin. */
  to: string;
  /** `file` in the repo; `missing`: no file at the relative path `to`; `generated`: that, in a git-ignored output; `package` or builtin. */
  kind: "file" | "missing" | "generated" | "package";
  /** `import type` / `export type` / `typeof import("…")`: erased before it runs. */
  typeOnly: boolean;
  line: number;
};

export type Graph = {
  files: string[];
  edges: Edge[];
  /** Files whose code (not comments, strings or types) reads the `Bun` global, with the lines. */
  bunGlobal: Map<string, number[]>;
};

export type Check = { name: string; violations: string[] };

const posix = (p: string) => p.split(sep).join("/");
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const under = (file: string, dir: string) => file.startsWith(`${dir}/`);
export const isTestFile = (file: string) => TEST_FILE.test(file);
export const isProductFile = (file: string) => PRODUCT_DIRS.some((d) => under(file, d)) && !isTestFile(file);
const isBun = (spec: string) => spec === "bun" || spec.startsWith("bun:");
const isNodeBuiltin = (spec: string) => spec.startsWith("node:") || (!isBun(spec) && isBuiltin(spec));

export function isIoPackage(spec: string): boolean {
  if (isBun(spec) || isNodeBuiltin(spec)) return true;
  return IO_PACKAGES.some((p) => (p.endsWith("/") ? spec.startsWith(p) : spec === p || spec.startsWith(`${p}/`)));
}

/** Tracked plus untracked-but-not-ignored sources that exist on disk right now. */
export function sourceFiles(root = repoRoot): string[] {
  const out = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "--", ...SOURCE_DIRS], { cwd: root, encoding: "utf8" });
  const files = new Set(out.split("\n").filter((f) => SOURCE_EXT.test(f) && existsSync(join(root, f))));
  return [...files].sort();
}

function compilerOptions(root: string): ts.CompilerOptions {
  const path = join(root, "tsconfig.json");
  const read = ts.readConfigFile(path, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, path).options;
}

type RawImport = { spec: string; typeOnly: boolean; line: number };

/** Every import with a literal specifier: static, re-export, `import x = require`, dynamic, `require`. */
function importsOf(sf: ts.SourceFile): RawImport[] {
  const found: RawImport[] = [];
  const add = (lit: ts.Node | undefined, typeOnly: boolean) => {
    if (lit && ts.isStringLiteralLike(lit)) {
      found.push({ spec: lit.text, typeOnly, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // `import { type A }` still loads the module under verbatimModuleSyntax; only `import type` is erased.
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const callee = node.expression;
      const dynamic = callee.kind === ts.SyntaxKind.ImportKeyword;
      const req = ts.isIdentifier(callee) && callee.text === "require";
      if (dynamic || req) add(node.arguments[0], false);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      return; // `declare module "x"` describes x, it does not import it
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Lines where code reads the `Bun` global: `Bun.x`, `Bun["x"]`, `globalThis.Bun`; type positions excluded. */
function bunGlobalLines(sf: ts.SourceFile): number[] {
  const lines = new Set<number>();
  const at = (n: ts.Node) => lines.add(sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1);
  const visit = (node: ts.Node): void => {
    if ((ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) && ts.isIdentifier(node.expression)) {
      const obj = node.expression.text;
      const prop = ts.isPropertyAccessExpression(node) ? node.name.text : ts.isStringLiteralLike(node.argumentExpression) ? node.argumentExpression.text : "";
      if (obj === "Bun" || (obj === "globalThis" && prop === "Bun")) at(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...lines].sort((a, b) => a - b);
}

const scriptKind = (file: string) => (file.endsWith(".mjs") ? ts.ScriptKind.JS : file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);

/** Parses every source file and resolves its imports the way `tsc -p .` does. */
export function buildGraph(root = repoRoot): Graph {
  const options = compilerOptions(root);
  const host: ts.ModuleResolutionHost = ts.sys;
  const cache = ts.createModuleResolutionCache(root, (f) => f, options);
  const files = sourceFiles(root);
  const edges: Edge[] = [];
  const bunGlobal = new Map<string, number[]>();
  const parsed: string[] = [];

  for (const file of files) {
    const abs = join(root, file);
    let text: string;
    try {
      text = readFileSync(abs, "utf8");
    } catch {
      continue; // moved or deleted since the listing
    }
    parsed.push(file);
    const sf = ts.createSourceFile(abs, text, ts.ScriptTarget.Latest, true, scriptKind(file));
    const bunLines = bunGlobalLines(sf);
    if (bunLines.length > 0) bunGlobal.set(file, bunLines);

    for (const { spec, typeOnly, line } of importsOf(sf)) {
      const resolved = ts.resolveModuleName(spec, abs, options, host, cache).resolvedModule;
      const relativeSpec = spec.startsWith(".") || spec.startsWith("/");
      let target: string | undefined;
      if (resolved && !resolved.isExternalLibraryImport) target = resolved.resolvedFileName;
      // Assets (`.sql` as text, files) have no TypeScript resolution: the path itself is the target.
      else if (relativeSpec && isFile(resolve(dirname(abs), spec))) target = resolve(dirname(abs), spec);
      const rel = target === undefined ? undefined : posix(relative(root, target));

      if (rel !== undefined && !rel.startsWith("..") && !rel.split("/").includes("node_modules")) {
        edges.push({ from: file, to: rel, kind: "file", typeOnly, line });
      } else if (relativeSpec) {
        edges.push({ from: file, to: posix(relative(root, resolve(dirname(abs), spec))), kind: "missing", typeOnly, line });
      } else {
        edges.push({ from: file, to: spec, kind: "package", typeOnly, line });
      }
    }
  }
  const ignored = gitIgnored(
    root,
    edges.filter((e) => e.kind === "missing").map((e) => e.to),
  );
  for (const e of edges) if (e.kind === "missing" && ignored.has(e.to)) e.kind = "generated";
  edges.sort((a, b) => byText(a.from, b.from) || a.line - b.line || byText(a.to, b.to));
  return { files: parsed, edges, bunGlobal };
}

/** Which of these repo-relative paths git ignores (build outputs such as bench/peers/dist/). */
function gitIgnored(root: string, paths: string[]): Set<string> {
  if (paths.length === 0) return new Set();
  // Exit status 1 means "none ignored"; the output is still the answer.
  const r = spawnSync("git", ["check-ignore", "--no-index", "--stdin"], { cwd: root, input: paths.join("\n"), encoding: "utf8" });
  return new Set(r.stdout.split("\n").filter(Boolean));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const show = (e: Edge) => `${e.from}:${e.line} → ${e.to}${e.typeOnly ? " (type)" : ""}${e.kind === "missing" ? " (missing)" : ""}`;
/** Imports of repo paths; one naming a missing file still counts against the layer rules. */
const pathEdges = (g: Graph) => g.edges.filter((e) => e.kind === "file" || e.kind === "missing");
const fileEdges = (g: Graph) => g.edges.filter((e) => e.kind === "file");

/** Rule 1: the two services share code only through lib/ and schemas/. */
export function gatewayProcessorEdges(g: Graph): string[] {
  const crosses = (a: string, b: string) => (under(a, "gateway") && under(b, "processor")) || (under(a, "processor") && under(b, "gateway"));
  return pathEdges(g)
    .filter((e) => crosses(e.from, e.to))
    .map(show);
}

/** Rule 2: bin/ is the composition root; only bin/ itself may import it. */
export function binImports(g: Graph): string[] {
  return pathEdges(g)
    .filter((e) => under(e.to, "bin") && !under(e.from, "bin"))
    .map(show);
}

/** Rule 3: lib/ sees lib/ and schemas/, schemas/ only schemas/ and I/O-free packages; their unit tests may use test/support/ too. */
export function libSchemasEdges(g: Graph): string[] {
  const bad = g.edges.filter((e) => {
    const fromLib = under(e.from, "lib");
    if (!fromLib && !under(e.from, "schemas")) return false;
    if (e.kind === "package") return !fromLib && !isTestFile(e.from) && isIoPackage(e.to);
    if (e.kind !== "file" && e.kind !== "missing") return false;
    if (ROOT_DATA.has(e.to) || (isTestFile(e.from) && under(e.to, "test/support"))) return false;
    return !under(e.to, "schemas") && !(fromLib && under(e.to, "lib"));
  });
  return bad.map(show);
}

/** Rule 4: shipped code never depends on the test or bench harness. */
export function productImportsTests(g: Graph): string[] {
  return pathEdges(g)
    .filter((e) => isProductFile(e.from) && (under(e.to, "test") || under(e.to, "bench")))
    .map(show);
}

/** Rule 5: what `gateway/app.ts` loads at run time stays off `bun`, `node:*`, `gateway/runtime/` and `Bun`; type-only imports are erased. */
export function runtimeNeutralCore(g: Graph, entry = "gateway/app.ts"): string[] {
  if (!g.files.includes(entry)) return [`${entry} not found`];
  const out = new Map<string, Edge[]>();
  for (const e of g.edges) {
    if (e.typeOnly) continue;
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from)!.push(e);
  }
  const via = new Map<string, string>([[entry, ""]]);
  const queue = [entry];
  const found: string[] = [];
  const chain = (file: string) => {
    const path: string[] = [];
    for (let f: string | undefined = file; f; f = via.get(f)) path.unshift(f);
    return path.length > 1 ? ` (via ${path.join(" → ")})` : "";
  };
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const line of g.bunGlobal.get(file) ?? []) found.push(`${file}:${line} uses the Bun global${chain(file)}`);
    for (const e of out.get(file) ?? []) {
      if (e.kind === "package" && (isBun(e.to) || isNodeBuiltin(e.to))) found.push(`${show(e)}${chain(file)}`);
      if (e.kind !== "file") continue;
      if (under(e.to, "gateway/runtime")) found.push(`${show(e)}${chain(file)}`);
      if (!via.has(e.to)) {
        via.set(e.to, file);
        queue.push(e.to);
      }
    }
  }
  return found;
}

/** Rule 6: product files form a DAG. Each strongly connected component is reported with one cycle through it. */
export function productCycles(g: Graph): string[] {
  const nodes = g.files.filter(isProductFile);
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of fileEdges(g)) if (next.has(e.from) && next.has(e.to)) next.get(e.from)!.push(e.to);
  const cycles: string[] = [];
  for (const scc of stronglyConnected(nodes, next)) {
    const self = scc.length === 1 && next.get(scc[0]!)!.includes(scc[0]!);
    if (scc.length === 1 && !self) continue;
    const cycle = cycleThrough(scc, next);
    const others = scc.filter((f) => !cycle.includes(f));
    cycles.push(`${cycle.join(" → ")}${others.length > 0 ? ` (strongly connected with ${others.join(", ")})` : ""}`);
  }
  return cycles.sort();
}

/** Tarjan's algorithm, iterative so a deep graph cannot overflow the stack. */
function stronglyConnected(nodes: string[], next: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = next.get(frame.node)!;
      if (frame.i < succ.length) {
        const w = succ[frame.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.node);
        result.push(scc.sort());
      }
    }
  }
  return result;
}

/** A shortest cycle from the component's first file back to itself (BFS inside the component). */
function cycleThrough(scc: string[], next: Map<string, string[]>): string[] {
  const members = new Set(scc);
  const start = scc[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
    for (const w of next.get(n)!) {
      if (w === start) {
        const path = [start];
        for (let p = n; p !== start; p = prev.get(p)!) path.splice(1, 0, p);
        return [...path, start];
      }
      if (members.has(w) && !prev.has(w)) {
        prev.set(w, n);
        queue.push(w);
      }
    }
  }
  return scc;
}

/** Rule 8: an sdk/ package ships to other services, so it imports only schemas/ and its own files (its tests may use test/support/ too). */
export function sdkEdges(g: Graph): string[] {
  const pkg = (file: string) => file.split("/").slice(0, 2).join("/");
  return pathEdges(g)
    .filter((e) => under(e.from, "sdk") && !under(e.to, "schemas") && pkg(e.to) !== pkg(e.from))
    .filter((e) => !(isTestFile(e.from) && under(e.to, "test/support")))
    .map(show);
}

/** Relative imports that name no file (build outputs aside): the graph would silently miss what they load. */
export function missingImports(g: Graph): string[] {
  return g.edges.filter((e) => e.kind === "missing").map(show);
}

export function checkAll(g: Graph): Check[] {
  return [
    { name: "gateway/ and processor/ never import each other", violations: gatewayProcessorEdges(g) },
    { name: "nothing outside bin/ imports bin/", violations: binImports(g) },
    { name: "lib/ imports only lib/ and schemas/; schemas/ only schemas/ and no I/O packages", violations: libSchemasEdges(g) },
    { name: "product code never imports test/ or bench/", violations: productImportsTests(g) },
    { name: "nothing reachable from gateway/app.ts uses bun, node:*, gateway/runtime/ or the Bun global", violations: runtimeNeutralCore(g) },
    { name: "no import cycles among product files", violations: productCycles(g) },
    { name: "every relative import resolves to a file", violations: missingImports(g) },
    { name: "sdk/ packages import only schemas/ and their own files", violations: sdkEdges(g) },
  ];
}

/** The rule's name and count, then one violation a line. */
export function formatCheck(check: Check): string {
  return [`${check.violations.length} against "${check.name}":`, ...check.violations.map((v) => `  ${v}`)].join("\n");
}

if (import.meta.main) {
  const started = performance.now();
  const graph = buildGraph();
  const checks = checkAll(graph);
  for (const c of checks) console.log(c.violations.length === 0 ? `ok: ${c.name}` : formatCheck(c));
  const ms = Math.round(performance.now() - started);
  console.log(`${graph.files.length} files, ${graph.edges.length} imports, ${ms} ms`);
  process.exit(checks.some((c) => c.violations.length > 0) ? 1 : 0);
}
