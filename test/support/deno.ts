import { createRequire } from "node:module";

/**
 * The Deno binary of the `deno` npm package, put in place first if the
 * package manager skipped its postinstall (its own wrapper does the same).
 * Run directly: the wrapper starts Deno as a child and does not pass signals on.
 */
export function denoBinary(): string {
  const api = createRequire(import.meta.url)("deno/install_api.cjs") as { runInstall(): string };
  return api.runInstall();
}
