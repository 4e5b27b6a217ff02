// deploy/Dockerfile, built with buildah as a user builds it (the repository as the context, .dockerignore
// applied) on an offline stand-in for its base, then checked against what deploy/kubernetes/ expects of
// the image: the binary where `command` names it, the user of `runAsUser`, the ports of `containerPort`,
// and migrate, gateway and processor starting as that user on a read-only root with only /tmp writable.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "../lib/probe.ts";
import { ConfigSchema } from "../schemas/config.ts";
import { DEFAULT_METRICS_PORT } from "../schemas/metrics.ts";
import { startHerald, type HeraldProcess } from "./support/herald-process.ts";
import { createStack, type Stack } from "./support/stack.ts";

const ROOT = join(import.meta.dir, "..");
const DOCKERFILE = join(ROOT, "deploy", "Dockerfile");
const BINARY = join(ROOT, "dist", "herald");
const IN_IMAGE = "/usr/local/bin/herald";
const BASE = "localhost/herald-image-test-base:latest";
const IMAGE = "localhost/herald-image-test:latest";

const buildah = Bun.which("buildah");
const isRoot = process.getuid?.() === 0;
if (!buildah) console.warn("[image.test] buildah is not on PATH: SKIPPING the image checks. Install Debian's `buildah` package (.ci/run does).");
else if (!isRoot) console.warn("[image.test] not running as root: SKIPPING the image checks (buildah's chroot isolation and the read-only mount need root).");
const skip = !buildah || !isRoot;

type Json = Record<string, unknown>;
type Pod = {
  securityContext: { runAsUser: number; runAsGroup: number };
  containers: Array<{ command: string[]; args: string[]; ports?: Array<{ containerPort: number }> }>;
};
const podsOf = (file: string): Pod[] => {
  const docs = [Bun.YAML.parse(readFileSync(join(ROOT, "deploy", "kubernetes", file), "utf8"))].flat() as Json[];
  return docs.filter((d) => d.kind === "Deployment" || d.kind === "Job").map((d) => ((d.spec as Json).template as Json).spec as Pod);
};
const PODS = ["migrate-job.yaml", "gateway.yaml", "processor.yaml"].flatMap(podsOf);

let dir = "";
let stack: Stack | undefined;
const running: HeraldProcess[] = [];

/** `cmd` with exactly `env` (the runner's own sets a LOG_LEVEL that would silence Herald), or the runner's. */
function run(cmd: string[], env: Record<string, string | undefined> = process.env): { code: number; out: string } {
  const r = Bun.spawnSync(cmd, { env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

/** buildah on the test's own storage (vfs, under `dir`), never the machine's. */
function bah(...args: string[]): string {
  const storage = ["--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs"];
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"), BUILDAH_ISOLATION: "chroot", TMPDIR: dir };
  const r = run([buildah ?? "buildah", ...storage, ...args], env);
  if (r.code !== 0) throw new Error(`buildah ${args.join(" ")} exited ${r.code}: ${r.out}`);
  return r.out.trim();
}

/** The base's stand-in: the host's copies of exactly the libraries `ldd` lists, and distroless's user `nonroot`. */
function buildBase(): void {
  const rootfs = join(dir, "base");
  const ldd = run(["ldd", BINARY]).out;
  for (const [, path = ""] of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) {
    mkdirSync(join(rootfs, dirname(path)), { recursive: true });
    copyFileSync(path, join(rootfs, path));
  }
  mkdirSync(join(rootfs, "etc"));
  mkdirSync(join(rootfs, "tmp"), { mode: 0o1777 });
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nnonroot:x:65532:\n");
  const ctr = bah("from", "scratch");
  bah("copy", ctr, `${rootfs}/`, "/");
  bah("config", "--user", "65532:65532", ctr);
  bah("commit", "--quiet", "--rm", ctr, BASE);
}

/**
 * What a kubelet gives the manifests' pods: the image's root bind-mounted read-only, a tmpfs at /tmp
 * (their emptyDir), /proc and /dev, and the user of `runAsUser`. The `touch` proves the root refuses writes.
 */
const READ_ONLY_ROOT = `set -e
r=$1; shift
mkdir -p "$r/proc" "$r/dev" "$r/tmp"
mount --bind "$r" "$r"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs -o size=64m tmpfs "$r/tmp"
mount -o remount,bind,ro "$r"
if touch "$r/.rw-probe" 2>/dev/null; then echo "the root is writable" >&2; exit 97; fi
exec chroot --userspec="$USERSPEC" "$r" "$@"`;

let config: { User: string; Entrypoint: string[]; Cmd: string[]; ExposedPorts: Record<string, unknown>; Labels: Record<string, string> };
let version = "";
let rootfs = "";

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "herald-image-"));
  writeFileSync(join(dir, "storage.conf"), `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/runroot"\n`);
  if (!existsSync(BINARY)) {
    const built = run([process.execPath, join(ROOT, "bin", "build.ts")]);
    if (built.code !== 0) throw new Error(`npm run build failed: ${built.out}`);
  }
  version = run([BINARY, "--version"]).out.trim();
  buildBase();
  const release = version.split(" ")[1] ?? "";
  bah(
    "bud",
    "--quiet",
    "--pull-never",
    "--isolation",
    "chroot",
    "-f",
    DOCKERFILE,
    "--build-arg",
    `BASE=${BASE}`,
    "--build-arg",
    `VERSION=${release}`,
    "-t",
    IMAGE,
    ROOT,
  );
  config = (JSON.parse(bah("inspect", "--type", "image", IMAGE)) as { OCIv1: { config: typeof config } }).OCIv1.config;
  const ctr = bah("from", "--pull-never", "--name", "herald-image-test", IMAGE);
  rootfs = bah("mount", ctr);
  stack = await createStack();
}, 120_000);

afterAll(async () => {
  for (const h of running) await h.signal("SIGTERM");
  await stack?.cleanup();
  if (!dir) return;
  for (const step of [
    ["umount", "--all"],
    ["rm", "--all"],
    ["rmi", "--all", "--force"],
  ]) {
    try {
      bah(...step);
    } catch (err) {
      console.warn(`[image.test] cleanup: ${(err as Error).message}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("deploy/Dockerfile", () => {
  test("defaults to a distroless glibc base: the binary links glibc (ldd), so not `static`, and not musl", () => {
    expect(readFileSync(DOCKERFILE, "utf8")).toMatch(/^ARG BASE=gcr\.io\/distroless\/cc-debian\d+:nonroot$/m);
  });
});

describe.skipIf(skip)("deploy/Dockerfile, built with buildah on the stand-in base", () => {
  test("puts the binary where every manifest's command names it, as the entrypoint, labelled with its version", () => {
    for (const pod of PODS) for (const c of pod.containers) expect(c.command).toEqual([IN_IMAGE]);
    expect(config.Entrypoint).toEqual([IN_IMAGE]);
    expect(config.Labels["org.opencontainers.image.version"]).toBe(version.split(" ")[1] ?? "");
  });

  test("runs as the manifests' runAsUser:runAsGroup, numerically so runAsNonRoot can verify it", () => {
    for (const pod of PODS) expect(config.User).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
  });

  test("exposes every containerPort of the manifests, which are Herald's default ports", () => {
    const ports = PODS.flatMap((p) => p.containers.flatMap((c) => c.ports ?? []).map((port) => `${port.containerPort}/tcp`));
    expect(ports.sort()).toEqual([`${ConfigSchema.parse({}).HERALD_PORT}/tcp`, `${DEFAULT_METRICS_PORT}/tcp`].sort());
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(ports);
  });

  test("answers --version and help inside the image as the binary does on the host", () => {
    for (const args of [["--version"], ["help"]]) {
      const inside = bah("run", "--isolation", "chroot", "herald-image-test", "--", IN_IMAGE, ...args);
      expect(inside).toBe(run([BINARY, ...args]).out.trim());
    }
  });

  test("migrates, then serves the gateway and the processor, as 65532 on a read-only root with only /tmp writable", async () => {
    if (!stack) throw new Error("no stack");
    const userspec = config.User;
    const inImage = ["unshare", "--mount", "sh", "-c", READ_ONLY_ROOT, "sh", rootfs, IN_IMAGE];
    const migrate = run([...inImage, "migrate"], { PATH: process.env.PATH, ...stack.env, USERSPEC: userspec });
    expect(migrate.out).toContain("migrations and streams are up to date");
    expect(migrate.code).toBe(0);

    const gateway = await startHerald("gateway", { ...stack.env, USERSPEC: userspec }, { command: inImage });
    running.push(gateway);
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    const metricsPort = freePort();
    const processor = await startHerald("processor", { ...stack.env, USERSPEC: userspec, HERALD_METRICS_PORT: String(metricsPort) }, { command: inImage });
    running.push(processor);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health/ready`)).status).toBe(200);
    const uid = (pid: number) => readFileSync(`/proc/${pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)?.[1];
    expect([uid(gateway.proc.pid), uid(processor.proc.pid)]).toEqual(["65532", "65532"]);
  }, 60_000);
});
