// @herald/events' package: `bun sdk/events/build.ts [outdir]` writes dist/index.js (ESM, the schemas it uses bundled in,
// @nats-io/* and zod left as dependencies) and its .d.ts files (default sdk/events/dist).
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const PACKAGE = import.meta.dir;

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return declarationFiles(path);
    return f.endsWith(".d.ts") ? [path] : [];
  });
}

/** Bundles the subscriber into `outdir/index.js` and declares its types under `outdir/types/`; resolves to the module's path. */
export async function buildEvents(outdir = join(PACKAGE, "dist")): Promise<string> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await Bun.build({
    entrypoints: [join(PACKAGE, "src", "index.ts")],
    outdir,
    naming: "index.js",
    // Node 20 and Bun load it as it is; the NATS client and zod stay the consumer's, so one copy of each is loaded.
    target: "node",
    format: "esm",
    external: ["@nats-io/*", "zod"],
    sourcemap: "linked",
  });
  if (!result.success) throw new AggregateError(result.logs, "could not bundle @herald/events");
  const types = join(outdir, "types");
  const tsc = Bun.spawnSync(
    [
      join(ROOT, "node_modules", ".bin", "tsc"),
      "-p",
      join(PACKAGE, "tsconfig.json"),
      "--noEmit",
      "false",
      "--declaration",
      "--emitDeclarationOnly",
      "--outDir",
      types,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  if (tsc.exitCode !== 0) throw new Error(`tsc failed:\n${tsc.stdout.toString()}${tsc.stderr.toString()}`);
  // The sources import `./x.ts`; a consumer's resolver finds `./x.d.ts` from `./x.js` in every mode.
  for (const path of declarationFiles(types)) writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+["']\.{1,2}\/[^"']+)\.ts(["'])/g, "$1.js$2"));
  writeFileSync(join(outdir, "index.d.ts"), 'export * from "./types/sdk/events/src/index.js";\n');
  return join(outdir, "index.js");
}

if (import.meta.main) console.log(`built ${await buildEvents(process.argv[2])}`);
