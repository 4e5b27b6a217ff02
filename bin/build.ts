// `npm run build`: Herald as one self-contained executable (Bun, the code,
// the SQL migrations and PGlite's files inside), for the machine's platform.
//
//   bun bin/build.ts [outfile]   (default dist/herald)
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** The `bun build` arguments for the binary; test/binary.test.ts builds with the same. */
export function buildArgs(outfile: string): string[] {
  return ["build", "--compile", "--sourcemap", join(ROOT, "bin", "herald.ts"), "--outfile", outfile];
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? join(ROOT, "dist", "herald");
  const built = Bun.spawnSync([process.execPath, ...buildArgs(outfile)], { stdio: ["ignore", "inherit", "inherit"] });
  if (built.exitCode !== 0) process.exit(built.exitCode ?? 1);
  console.log(`built ${outfile}: run it as \`${outfile} all | gateway | processor | migrate\` with the variables of README's Configuration`);
}
