// A Postgres cluster of the chaos run's own (initdb + pg_ctl on a free loopback
// port, its own data directory), so a fault can stop it without touching the
// machine's Postgres. Run as the postgres user when the run is root, as initdb requires.
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../lib/probe.ts";

export interface PrivatePostgres {
  /** The `postgres` database of this cluster, for creating the run's database. */
  adminUrl: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the server goes away as in a crash. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

function binDir(): string {
  const versions = readdirSync("/usr/lib/postgresql")
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("no /usr/lib/postgresql/<version>/bin");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

function idOf(flag: "-u" | "-g"): number {
  return Number(new TextDecoder().decode(Bun.spawnSync(["id", flag, "postgres"]).stdout).trim());
}

async function run(argv: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const proc = Bun.spawn(asRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv, { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  await new Response(proc.stdout).text();
  if (code !== 0) throw new Error(`${argv[0]} exited ${code}: ${err.trim()}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "herald-pg-"));
  const data = join(dir, "data");
  mkdirSync(data);
  if (process.getuid?.() === 0) for (const d of [dir, data]) chownSync(d, idOf("-u"), idOf("-g"));
  let running = false;
  const handle: PrivatePostgres = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
      await run([`${bin}/pg_ctl`, "-D", data, "-l", join(dir, "log"), "-w", "-o", opts, "start"]);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      await run([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
    },
    async remove() {
      await handle.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    await handle.start();
  } catch (err) {
    await handle.remove();
    throw err;
  }
  return handle;
}
