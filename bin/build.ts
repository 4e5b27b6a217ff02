// `npm run build`: Herald as one self-contained executable (Bun, the code,
// the SQL migrations and PGlite's files inside), for the machine's platform.
//
//   bun bin/build.ts [outfile] [entry]   (default dist/herald, from bin/herald.ts)
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** The `bun build` arguments for a binary of `entry`. */
function buildArgs(outfile: string, entry: string): string[] {
  return ["build", "--compile", "--sourcemap", entry, "--outfile", outfile];
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? join(ROOT, "dist", "herald");
  const entry = process.argv[3] ?? join(ROOT, "bin", "herald.ts");
  const built = Bun.spawnSync([process.execPath, ...buildArgs(outfile, entry)], { stdio: ["ignore", "inherit", "inherit"] });
  if (built.exitCode !== 0) process.exit(built.exitCode ?? 1);
  console.log(`built ${outfile}: run it as \`${outfile} all | gateway | processor | migrate\` with the variables of docs/configuration.md`);
}
