// Node 20 cannot import TypeScript, yet the peers must validate with the very
// same zod schema as Herald (the same validation). Bundling
// schemas/request.ts, zod included, into one plain ESM file gives Node exactly
// that code with nothing to resolve at run time.
// Usage: bun bench/peers/build.ts   (the smoke and bench scripts call it first)

const root = new URL("../../", import.meta.url).pathname;
const outdir = new URL("./dist/", import.meta.url).pathname;

/** Writes `bench/peers/dist/request.mjs`; returns its path. */
export async function buildPeerSchemas(): Promise<string> {
  const result = await Bun.build({
    entrypoints: [`${root}schemas/request.ts`],
    outdir,
    target: "node",
    format: "esm",
    naming: "request.mjs",
    // Readable output: a reviewer can check the peers run the same checks.
    minify: false,
  });
  if (!result.success) {
    throw new AggregateError(result.logs, "bundling schemas/request.ts for the Node peers failed");
  }
  return `${outdir}request.mjs`;
}

if (import.meta.main) {
  console.log(`wrote ${await buildPeerSchemas()}`);
}
