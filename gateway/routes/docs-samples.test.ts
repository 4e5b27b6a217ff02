import { describe, expect, test } from "bun:test";
import ts from "typescript";
import { openApiDocument } from "../openapi/document.ts";
import { operationsOf } from "./docs.ts";
import { codeSamples, withCodeSamples } from "./docs-samples.ts";

const doc = openApiDocument();
const samplesOf = (method: string, path: string) => {
  const op = doc.paths[path]?.[method as "get"];
  if (op === undefined) throw new Error(`no ${method} ${path}`);
  const [curl, typescript] = codeSamples(doc, method, path, op);
  return { curl: curl?.source ?? "", typescript: typescript?.source ?? "" };
};

describe("request samples", () => {
  test("every operation gets a curl and a TypeScript sample, in the document's order", () => {
    const withSamples = withCodeSamples(doc);
    expect(operationsOf(withSamples).map(({ method, path }) => `${method} ${path}`)).toEqual(operationsOf(doc).map(({ method, path }) => `${method} ${path}`));
    expect(Object.keys(withSamples.paths["/v1/notifications"] ?? {})).toEqual(Object.keys(doc.paths["/v1/notifications"] ?? {}));
    for (const { op } of operationsOf(withSamples)) {
      const samples = (op as { "x-codeSamples"?: { lang: string; label: string }[] })["x-codeSamples"];
      expect(samples?.map((s) => [s.lang, s.label])).toEqual([
        ["Shell", "curl"],
        ["TypeScript", "TypeScript"],
      ]);
    }
  });

  test("the curl sample posts the first example with the API key and an Idempotency-Key", () => {
    const { curl } = samplesOf("post", "/v1/notifications");
    expect(curl).toStartWith('curl -s -X POST "http://127.0.0.1:8080/v1/notifications"');
    expect(curl).toContain('-H "Authorization: Bearer $HERALD_API_KEY"');
    expect(curl).toContain('-H "Idempotency-Key: $(uuidgen)"');
    const sent = curl.match(/-d '([\s\S]*)'$/)?.[1]?.replaceAll("'\\''", "'") ?? "";
    expect(JSON.parse(sent)).toEqual(doc.paths["/v1/notifications"]?.post?.requestBody?.content["application/json"]?.examples?.email?.value);
  });

  test("the TypeScript sample types the answer from the document's schemas", () => {
    const { typescript } = samplesOf("get", "/v1/notifications/{id}");
    expect(typescript).toContain('const id = "<id>";');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample's own template literal
    expect(typescript).toContain("fetch(`http://127.0.0.1:8080/v1/notifications/${id}`");
    expect(typescript).toContain('  status: "accepted" | "scheduled" | "processing"');
    expect(typescript).toEndWith("const answer: NotificationView = await res.json();");
  });

  test("probes take no key, admin routes the admin key, required query parameters are placeholders", () => {
    expect(samplesOf("get", "/health/live").curl).toBe('curl -s "http://127.0.0.1:8080/health/live"');
    expect(samplesOf("get", "/admin/v1/dead-letters").curl).toContain("$HERALD_ADMIN_KEY");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample's own template literal
    expect(samplesOf("get", "/v1/inbox").typescript).toContain("?userId=${encodeURIComponent(userId)}`");
  });

  test("every curl sample is valid shell", () => {
    for (const { method, path, op } of operationsOf(doc)) {
      const [curl] = codeSamples(doc, method, path, op);
      const shell = Bun.spawnSync(["bash", "-n", "-c", curl?.source ?? ""], { stderr: "pipe" });
      expect({ path, method, shell: shell.stderr.toString() }).toEqual({ path, method, shell: "" });
    }
  });

  test("every TypeScript sample typechecks under strict", () => {
    const files = new Map(
      operationsOf(doc).map(({ method, path, op }, i) => [
        `/samples/${i}-${op.operationId}.ts`,
        `${codeSamples(doc, method, path, op)[1]?.source}\nexport {};`,
      ]),
    );
    files.set("/samples/env.d.ts", "declare const process: { env: Record<string, string | undefined> };");
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, version, ...rest) =>
      files.has(name) ? ts.createSourceFile(name, files.get(name) ?? "", version) : getSourceFile.call(host, name, version, ...rest);
    host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
    host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
    const program = ts.createProgram([...files.keys()], options, host);
    const errors = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    expect(errors).toEqual([]);
  });
});
