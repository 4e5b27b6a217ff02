// @herald/client: its contract from the gateway's OpenAPI document, and its package.
//
//   bun bin/build-sdk.ts [outdir]     dist/index.js (ESM, no dependencies) and its .d.ts files (default sdk/client/dist)
//   bun bin/build-sdk.ts --generate   rewrites sdk/client/src/contract.ts from the document
//   bun bin/build-sdk.ts --check      exits 1 when sdk/client/src/contract.ts is not what --generate would write
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument } from "../gateway/openapi/document.ts";
import { renderContract } from "./sdk-contract.ts";

const ROOT = join(import.meta.dir, "..");
const PACKAGE = join(ROOT, "sdk", "client");
const CONTRACT = join(PACKAGE, "src", "contract.ts");
const BIN = (name: string) => join(ROOT, "node_modules", ".bin", name);

/** Runs a tool of node_modules/.bin; throws with its output when it fails. */
function tool(name: string, args: string[], stdin?: string): string {
  const r = Bun.spawnSync([BIN(name), ...args], { cwd: ROOT, stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${name} ${args.join(" ")} failed:\n${r.stdout.toString()}${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** The contract as --generate writes it: rendered, then formatted as Biome formats the tree. */
export function formattedContract(): string {
  return tool("biome", ["format", `--stdin-file-path=${CONTRACT}`], renderContract(openApiDocument()));
}

/** Bundles the client into `outdir/index.js` and declares its types beside it; resolves to the module's path. */
export async function buildClient(outdir = join(PACKAGE, "dist")): Promise<string> {
  rmSync(outdir, { recursive: true, force: true });
  const result = await Bun.build({
    entrypoints: [join(PACKAGE, "src", "index.ts")],
    outdir,
    naming: "index.js",
    // Browser: no Node or Bun built-ins may slip in; Node, Deno and Bun load it as it is.
    target: "browser",
    format: "esm",
    sourcemap: "linked",
  });
  if (!result.success) throw new AggregateError(result.logs, "could not bundle @herald/client");
  tool("tsc", ["-p", join(PACKAGE, "tsconfig.json"), "--noEmit", "false", "--declaration", "--emitDeclarationOnly", "--outDir", outdir]);
  // The sources import `./x.ts`; a consumer's resolver finds `./x.d.ts` from `./x.js` in every mode.
  for (const file of readdirSync(outdir).filter((f) => f.endsWith(".d.ts"))) {
    const path = join(outdir, file);
    writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+["']\.{1,2}\/[^"']+)\.ts(["'])/g, "$1.js$2"));
  }
  return join(outdir, "index.js");
}

if (import.meta.main) {
  const arg = process.argv[2];
  if (arg === "--generate") {
    writeFileSync(CONTRACT, formattedContract());
    console.log("wrote sdk/client/src/contract.ts");
  } else if (arg === "--check") {
    if (readFileSync(CONTRACT, "utf8") !== formattedContract()) {
      console.error("sdk/client/src/contract.ts differs from the gateway's OpenAPI document: run `bun bin/build-sdk.ts --generate`");
      process.exit(1);
    }
    console.log("sdk/client/src/contract.ts matches the OpenAPI document");
  } else {
    console.log(`built ${await buildClient(arg)}`);
  }
}
