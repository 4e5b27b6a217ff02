// The Kubernetes, Helm and systemd manifests under deploy/ are checked by a tool made for each
// (the Kubernetes OpenAPI schemas, the NATS chart's own values, systemd-analyze), and against
// what Herald serves and reads, which no schema knows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ConfigSchema } from "../schemas/config.ts";
import { DEFAULT_METRICS_PORT, METRICS } from "../schemas/metrics.ts";

const ROOT = join(import.meta.dir, "..");
const K8S = join(ROOT, "deploy", "kubernetes");
const HELM = join(ROOT, "deploy", "helm");
const SYSTEMD = join(ROOT, "deploy", "systemd");
const read = (...p: string[]) => readFileSync(join(...p), "utf8");

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const yamlDocs = (file: string): Json[] => {
  const parsed: unknown = Bun.YAML.parse(read(K8S, file));
  return (Array.isArray(parsed) ? parsed : [parsed]).filter(isObject);
};

// The Kubernetes OpenAPI schemas, compiled into kubernetes-models: one class per kind used here.
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/Job": Job,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
};

const kustomization = Bun.YAML.parse(read(K8S, "kustomization.yaml")) as { resources: string[]; images: Array<{ name: string }> };
const objects = kustomization.resources.flatMap((file) => yamlDocs(file).map((doc) => ({ file, doc })));
const find = (kind: string, name: string): Json => {
  const hit = objects.find(({ doc }) => doc.kind === kind && (doc.metadata as Json).name === name);
  if (!hit) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return hit.doc;
};

type Container = {
  name: string;
  image: string;
  command: string[];
  args: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  startupProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  resources: { requests?: Json; limits?: Json };
};
type PodSpec = { containers: Container[]; securityContext: { runAsNonRoot?: boolean }; terminationGracePeriodSeconds?: number };
const podSpec = (workload: Json): PodSpec => ((workload.spec as Json).template as { spec: PodSpec }).spec;
const container = (workload: Json): Container => {
  const [only] = podSpec(workload).containers;
  if (!only) throw new Error("no container");
  return only;
};
const configMapData = find("ConfigMap", "herald-config").data as Record<string, string>;

describe("Kubernetes manifests", () => {
  test("the kustomization lists every manifest in the folder, and the image placeholder they use", () => {
    const yamls = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(yamls.sort());
    for (const { doc } of objects.filter(({ doc }) => ["Deployment", "Job"].includes(String(doc.kind))))
      expect(kustomization.images.map((i) => i.name)).toContain(container(doc).image);
  });

  test("every object is valid against the Kubernetes OpenAPI schema of its kind", () => {
    expect(objects.length).toBeGreaterThanOrEqual(10);
    for (const { file, doc } of objects) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      if (!Model) throw new Error(`${file}: no schema here for ${doc.apiVersion} ${doc.kind}`);
      try {
        new Model(doc as never).validate();
      } catch (err) {
        throw new Error(`${file} ${doc.kind} ${(doc.metadata as Json).name}: ${(err as Error).message}`);
      }
    }
  });

  // The schemas let unknown fields through, as the API server's do; the same package's TypeScript
  // types do not (excess property checks), so tsc over the objects catches a misspelt key.
  const typeCheck = (docs: Json[]): { exitCode: number; out: string } => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-types-"));
    try {
      const kinds = [...new Set(docs.map((d) => `${d.apiVersion}/${d.kind}`))];
      const lines = [
        ...kinds.map((k) => `import type { I${k.split("/").at(-1)} } from "kubernetes-models/${k}";`),
        ...docs.map((d, i) => `export const o${i}: I${d.kind} = ${JSON.stringify(d)};`),
      ];
      writeFileSync(join(dir, "manifests.ts"), `${lines.join("\n")}\n`);
      const compilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        module: "esnext",
        moduleResolution: "bundler",
        target: "es2022",
        types: [],
        paths: { "kubernetes-models/*": [join(ROOT, "node_modules", "kubernetes-models", "*")] },
      };
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["manifests.ts"] }));
      const r = Bun.spawnSync([join(ROOT, "node_modules", ".bin", "tsc"), "-p", join(dir, "tsconfig.json")], { stdout: "pipe", stderr: "pipe" });
      return { exitCode: r.exitCode, out: `${r.stdout}${r.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("every object has only the fields its kind's types name", () => {
    const r = typeCheck(objects.map(({ doc }) => doc));
    expect(r.out).toBe("");
    expect(r.exitCode).toBe(0);
  }, 60_000);

  test("a misspelt probe field fails the type check, so it has teeth", () => {
    const broken = structuredClone(find("Deployment", "herald-gateway"));
    const probe = container(broken).livenessProbe as unknown as Json;
    probe.httpGet = { pth: "/health/live", port: "http" };
    expect(typeCheck([broken]).out).toContain("'\"pth\"' does not exist in type 'IHTTPGetAction'");
  }, 60_000);

  test("a deliberately broken Deployment is refused, so the schema check has teeth", () => {
    const broken = structuredClone(find("Deployment", "herald-gateway"));
    (broken.spec as Json).replicas = "two";
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  test("the gateway and the processor run the binary's commands, and the Job runs migrate", () => {
    const run = (kind: string, name: string) => {
      const c = container(find(kind, name));
      return [...c.command, ...c.args];
    };
    expect(run("Deployment", "herald-gateway")).toEqual(["/usr/local/bin/herald", "gateway"]);
    expect(run("Deployment", "herald-processor")).toEqual(["/usr/local/bin/herald", "processor"]);
    expect(run("Job", "herald-migrate")).toEqual(["/usr/local/bin/herald", "migrate"]);
  });

  test("probes use the paths and ports Herald serves", () => {
    const gateway = container(find("Deployment", "herald-gateway"));
    const port = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
    expect(port(gateway, "http")).toBe(ConfigSchema.parse({ HERALD_PORT: configMapData.HERALD_PORT }).HERALD_PORT);
    expect(gateway.startupProbe?.httpGet).toEqual({ path: "/health/startup", port: "http" });
    expect(gateway.livenessProbe?.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(gateway.readinessProbe?.httpGet).toEqual({ path: "/health/ready", port: "http" });
    const gatewayRoutes = read(ROOT, "gateway", "routes", "health.ts");
    for (const path of ["/live", "/startup", "/ready"]) expect(gatewayRoutes).toContain(`routes.get("${path}"`);

    // The processor's listener has no /health/startup (lib/telemetry/metrics-server.ts).
    const processor = container(find("Deployment", "herald-processor"));
    expect(port(processor, "metrics")).toBe(DEFAULT_METRICS_PORT);
    expect(Number(configMapData.HERALD_METRICS_PORT)).toBe(DEFAULT_METRICS_PORT);
    const served = read(ROOT, "lib", "telemetry", "metrics-server.ts");
    for (const probe of [processor.startupProbe, processor.livenessProbe, processor.readinessProbe]) {
      expect(probe?.httpGet.port).toBe("metrics");
      expect(served).toContain(`"${probe?.httpGet.path}": { GET:`);
    }
  });

  test("every environment variable named is one Herald's config reads", () => {
    const keys = new Set(Object.keys(ConfigSchema.shape));
    // Read by Bun itself, not by Herald (docs/configuration.md, set by the launcher).
    const runtime = new Set(["BUN_JSC_forceRAMSize"]);
    const named = [
      ...Object.keys(configMapData),
      ...objects.flatMap(({ doc }) => (["Deployment", "Job"].includes(String(doc.kind)) ? (container(doc).env ?? []) : [])).map((e) => e.name),
    ];
    for (const name of named) expect({ name, known: keys.has(name) || runtime.has(name) }).toEqual({ name, known: true });
    expect(() => ConfigSchema.parse(configMapData)).not.toThrow();
    for (const { doc } of objects.filter(({ doc }) => ["Deployment", "Job"].includes(String(doc.kind))))
      for (const e of container(doc).env ?? []) if (e.valueFrom?.secretKeyRef) expect(e.valueFrom.secretKeyRef.key).toBe(e.name);
  });

  test("each process gets the secrets its command needs", () => {
    const secrets = (kind: string, name: string) => (container(find(kind, name)).env ?? []).map((e) => e.name);
    expect(secrets("Deployment", "herald-gateway")).toEqual(
      expect.arrayContaining(["DATABASE_URL", "NATS_URL", "REDIS_URL", "HERALD_API_KEYS", "HERALD_TOKEN_SECRET"]),
    );
    expect(secrets("Deployment", "herald-processor")).toEqual(
      expect.arrayContaining(["DATABASE_URL", "NATS_URL", "HERALD_WEBHOOK_SECRET", "HERALD_TOKEN_SECRET"]),
    );
    expect(secrets("Job", "herald-migrate")).toEqual(expect.arrayContaining(["DATABASE_URL", "NATS_URL"]));
  });

  test("pods run as non-root on a read-only root filesystem, with room to drain on a stop", () => {
    const shutdownS = Number(configMapData.HERALD_SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(shutdownS).toBe(ConfigSchema.parse({}).HERALD_SHUTDOWN_TIMEOUT_MS / 1000);
    for (const [kind, name] of [
      ["Deployment", "herald-gateway"],
      ["Deployment", "herald-processor"],
      ["Job", "herald-migrate"],
    ] as const) {
      const spec = podSpec(find(kind, name));
      const c = container(find(kind, name));
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits?.memory).toBeDefined();
      if (kind === "Deployment") expect(spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(shutdownS);
    }
  });

  test("each Deployment has a PodDisruptionBudget and an autoscaler selecting it", () => {
    for (const name of ["herald-gateway", "herald-processor"]) {
      const labels = ((find("Deployment", name).spec as Json).selector as { matchLabels: Json }).matchLabels;
      expect(((find("PodDisruptionBudget", name).spec as Json).selector as { matchLabels: Json }).matchLabels).toEqual(labels);
      expect((find("Service", name).spec as Json).selector as Json).toEqual(labels);
      expect((find("HorizontalPodAutoscaler", name).spec as Json).scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name });
    }
  });

  test("the processor scales on a backlog metric Herald exports, and the adapter serves it", () => {
    const [metric] = (find("HorizontalPodAutoscaler", "herald-processor").spec as { metrics: Array<{ type: string; external?: { metric: { name: string } } }> })
      .metrics;
    expect(metric?.type).toBe("External");
    const name = metric?.external?.metric.name;
    expect(name).toBe(METRICS.consumerPending.name);
    const adapter = Bun.YAML.parse(read(HELM, "prometheus-adapter-values.yaml")) as {
      rules: { external: Array<{ name: { as: string }; seriesQuery: string }> };
    };
    expect(adapter.rules.external.map((r) => r.name.as)).toContain(METRICS.consumerPending.name);
    for (const rule of adapter.rules.external) expect(rule.seriesQuery).toStartWith(`${METRICS.consumerPending.name}{`);
    const [cpu] = (find("HorizontalPodAutoscaler", "herald-gateway").spec as { metrics: Array<{ resource?: { name: string } }> }).metrics;
    expect(cpu?.resource?.name).toBe("cpu");
  });

  const kubectl = Bun.which("kubectl");
  test.skipIf(!kubectl)("kubectl kustomize builds the folder offline (when kubectl is installed)", () => {
    const r = Bun.spawnSync(["kubectl", "kustomize", K8S], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain("image: registry.example.com/herald:0.1.0");
  });
});

// ---- the NATS chart's values: it ships no values.schema.json, so its own default values.yaml is the reference ----

describe("NATS Helm values", () => {
  const reference = Bun.YAML.parse(read(HELM, "nats-chart-values.reference.yaml")) as Json;
  const values = Bun.YAML.parse(read(HELM, "nats-values.yaml")) as Json;
  // Maps the chart takes whole (merged into a resource or a config block), so any key goes below them.
  const FREE = new Set(["merge", "env", "resources", "topologySpreadConstraints"]);

  test("sets only keys the chart has", () => {
    const unknown: string[] = [];
    const walk = (mine: Json, theirs: Json, path: string) => {
      for (const [key, value] of Object.entries(mine)) {
        if (!(key in theirs)) unknown.push(`${path}${key}`);
        else if (!FREE.has(key) && isObject(value) && isObject(theirs[key])) walk(value, theirs[key] as Json, `${path}${key}.`);
      }
    };
    walk(values, reference, "");
    expect(unknown).toEqual([]);
  });

  test("asks for a three-node JetStream cluster on file storage that fsyncs every write", () => {
    expect(values).toMatchObject({
      config: {
        cluster: { enabled: true, replicas: 3 },
        jetstream: { enabled: true, fileStore: { enabled: true, pvc: { enabled: true } }, memoryStore: { enabled: false }, merge: { sync_interval: "always" } },
      },
      podDisruptionBudget: { enabled: true },
    });
    expect(Number(configMapData.HERALD_STREAM_REPLICAS)).toBe(3);
  });
});

// ---- systemd-analyze verify, in a throwaway root holding the binary's path ----

const systemdAnalyze = Bun.which("systemd-analyze");
if (!systemdAnalyze)
  console.warn("[manifests.test] systemd-analyze is not on PATH: SKIPPING the systemd unit checks. Install Debian's `systemd` package (.ci/run does).");

describe("systemd units", () => {
  const units = readdirSync(SYSTEMD).filter((f) => f.endsWith(".service"));
  let root = "";

  beforeAll(() => {
    if (!systemdAnalyze) return;
    // Not named herald-…: the check below reads every output line naming herald as one about our units.
    root = mkdtempSync(join(tmpdir(), "systemd-root-"));
    const system = join(root, "usr", "lib", "systemd", "system");
    mkdirSync(system, { recursive: true });
    // The host's own units (the targets ours name), dereferenced: absolute symlinks would resolve inside the root.
    for (const f of readdirSync("/usr/lib/systemd/system")) {
      const from = join("/usr/lib/systemd/system", f);
      if (statSync(from, { throwIfNoEntry: false })?.isFile()) copyFileSync(from, join(system, f));
    }
    mkdirSync(join(root, "etc", "systemd", "system"), { recursive: true });
    mkdirSync(join(root, "usr", "local", "bin"), { recursive: true });
    writeFileSync(join(root, "usr", "local", "bin", "herald"), "#!/bin/sh\n", { mode: 0o755 });
    for (const u of units) copyFileSync(join(SYSTEMD, u), join(root, "etc", "systemd", "system", u));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("there is a unit for each of migrate, gateway and processor", () => {
    expect(units.sort()).toEqual(["herald-gateway.service", "herald-migrate.service", "herald-processor.service"]);
  });

  test.skipIf(!systemdAnalyze)("systemd-analyze verify accepts them, without a warning about any", () => {
    const r = Bun.spawnSync(["systemd-analyze", "verify", `--root=${root}`, ...units], { stdout: "pipe", stderr: "pipe" });
    const ours = `${r.stdout}${r.stderr}`.split("\n").filter((line) => line.includes("herald"));
    expect(ours).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  test.skipIf(!systemdAnalyze)("a unit with an unknown key fails the check, so it has teeth", () => {
    const bad = join(root, "etc", "systemd", "system", "herald-broken.service");
    writeFileSync(bad, `${read(SYSTEMD, "herald-gateway.service").replace("Restart=on-failure", "Restart=sometimes\nRestartt=always")}`);
    const r = Bun.spawnSync(["systemd-analyze", "verify", `--root=${root}`, "herald-broken.service"], { stdout: "pipe", stderr: "pipe" });
    rmSync(bad);
    expect(`${r.stderr}`).toContain("Unknown key 'Restartt'");
  });

  const unit = (name: string) => read(SYSTEMD, name);
  test("each runs the binary's command, hardened, with the environment file", () => {
    for (const role of ["migrate", "gateway", "processor"]) {
      const text = unit(`herald-${role}.service`);
      expect(text).toContain(`ExecStart=/usr/local/bin/herald ${role}\n`);
      for (const line of ["EnvironmentFile=/etc/herald/herald.env", "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"])
        expect(text).toContain(`${line}\n`);
    }
    expect(unit("herald-migrate.service")).toContain("Type=oneshot\n");
  });

  test("the gateway and the processor start after migrate, restart on failure and get their drain time", () => {
    const shutdownS = ConfigSchema.parse({}).HERALD_SHUTDOWN_TIMEOUT_MS / 1000;
    for (const role of ["gateway", "processor"]) {
      const text = unit(`herald-${role}.service`);
      for (const line of ["Requires=herald-migrate.service", "Restart=on-failure", "KillSignal=SIGTERM"]) expect(text).toContain(`${line}\n`);
      expect(text).toMatch(/^After=.*herald-migrate\.service/m);
      expect(Number(/^TimeoutStopSec=(\d+)s$/m.exec(text)?.[1])).toBeGreaterThan(shutdownS);
    }
  });

  test("the example environment file names only keys Herald reads", () => {
    const keys = new Set([...Object.keys(ConfigSchema.shape), "BUN_JSC_forceRAMSize"]);
    const names = read(SYSTEMD, "herald.env.example")
      .split("\n")
      .filter((l) => /^[A-Za-z_]+=/.test(l))
      .map((l) => l.slice(0, l.indexOf("=")));
    expect(names.filter((n) => !keys.has(n))).toEqual([]);
  });
});
