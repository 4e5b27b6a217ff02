// `npm run build:node` / `npm run build:workerd`: the gateway alone as one
// JavaScript module for a runtime other than Bun, its dependencies inside.
//
//   bun bin/build-gateway.ts node|workerd [outdir]   (default dist/<runtime>)
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** Per runtime: its entry, the file it becomes, and how packages resolve there. */
export const GATEWAY_BUILDS = {
  node: { entry: "gateway/runtime/node/main.ts", file: "gateway.mjs", target: "node", conditions: ["node"], external: [] as string[] },
  workerd: {
    entry: "gateway/runtime/workerd/worker.ts",
    file: "worker.js",
    target: "browser",
    // postgres.js ships a build on `cloudflare:sockets` under the `workerd` condition.
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
  },
} as const;

export type GatewayBuild = keyof typeof GATEWAY_BUILDS;

/** Bundles one runtime's gateway; resolves to the module's path. */
export async function buildGateway(runtime: GatewayBuild, outdir = join(ROOT, "dist", runtime)): Promise<string> {
  const spec = GATEWAY_BUILDS[runtime];
  const result = await Bun.build({
    entrypoints: [join(ROOT, spec.entry)],
    outdir,
    naming: spec.file,
    target: spec.target,
    format: "esm",
    conditions: [...spec.conditions],
    external: [...spec.external],
    sourcemap: "linked",
    minify: { syntax: true },
  });
  if (!result.success) throw new AggregateError(result.logs, `could not bundle the ${runtime} gateway`);
  return join(outdir, spec.file);
}

if (import.meta.main) {
  const runtime = process.argv[2];
  if (runtime !== "node" && runtime !== "workerd") {
    console.error("usage: bun bin/build-gateway.ts node|workerd [outdir]");
    process.exit(2);
  }
  const path = await buildGateway(runtime, process.argv[3]);
  console.log(`built ${path}`);
}
