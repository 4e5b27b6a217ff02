// What a send by template costs the accept path against an explicit payload:
// the gateway phase's load (a fresh Idempotency-Key per request, the same
// connections) on one gateway, the body alternating between an explicit email
// and the same email by template, in rounds (explicit template, template
// explicit, …) so drift on a shared box hits both alike. The template path
// adds the published version (from the gateway's cache), the variables check
// and the recipient's profile read from Postgres; the user and the template
// are seeded through the gateway's own API first.
import { runAutocannon } from "../lib/autocannon.ts";
import { mean } from "../lib/stats.ts";
import { purgeStream } from "../lib/stream.ts";
import type { HttpRun, TemplatesRun } from "../types.ts";
import type { HeraldGateway } from "./herald-ingest.ts";
import { measureHttp, singleLoad } from "./http-load.ts";

export interface TemplatesOptions {
  connections: number;
  /** Seconds of load on each body before the first round, not counted. */
  warmupS: number;
  /** Measured seconds of each round, after a one-second warm-up. */
  durationS: number;
  /** Rounds per body. */
  rounds: number;
}

type Mode = "explicit" | "template";

const USER_ID = "bench-user";
const TEMPLATE = "bench-order";

const USER = { email: "bench@example.com", locale: "de" };
const DRAFT = {
  name: TEMPLATE,
  category: "orders",
  content: {
    variables: {
      type: "object",
      properties: { order: { type: "object", properties: { id: { type: "string" }, total: { type: "number" } }, required: ["id", "total"] } },
      required: ["order"],
    },
    locales: {
      default: { email: { subject: "Order {{ data.order.id }}", text: "Total {{ data.order.total }}" } },
      de: { email: { subject: "Bestellung {{ data.order.id }}", text: "Summe {{ data.order.total }}" } },
    },
  },
};

/** The two bodies: the same email, spelled out or by template. */
export const BODIES: Record<Mode, string> = {
  explicit: JSON.stringify({ userId: USER_ID, channel: "email", payload: { to: USER.email, subject: "Order o-1", body: "Total 42" } }),
  template: JSON.stringify({ userId: USER_ID, template: TEMPLATE, data: { order: { id: "o-1", total: 42 } }, channel: "email" }),
};

/** Round i measures explicit then template when even, template then explicit when odd, so neither always goes second. */
export function templatesRoundOrder(i: number): readonly [Mode, Mode] {
  return i % 2 === 0 ? (["explicit", "template"] as const) : (["template", "explicit"] as const);
}

async function call(gw: HeraldGateway, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gw.apiKey}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function expectStatus(what: string, res: Response, ok: number[]): Promise<void> {
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`templates phase: ${what} answered ${res.status}: ${text.slice(0, 500)}`);
}

/** The user and the published template, then one send of each body, which must be accepted before any load. */
async function seed(gw: HeraldGateway): Promise<void> {
  await expectStatus(`PUT /v1/users/${USER_ID}`, await call(gw, "PUT", `/v1/users/${USER_ID}`, USER), [200, 201]);
  await expectStatus("POST /v1/templates", await call(gw, "POST", "/v1/templates", DRAFT), [201]);
  await expectStatus(`POST /v1/templates/${TEMPLATE}/publish`, await call(gw, "POST", `/v1/templates/${TEMPLATE}/publish`, {}), [200]);
  for (const mode of ["explicit", "template"] as const) {
    const res = await call(gw, "POST", "/v1/notifications", BODIES[mode], { "idempotency-key": `bench-seed-${mode}` });
    await expectStatus(`a ${mode} send`, res, [202]);
  }
}

export async function templatesPhase(gw: HeraldGateway, opts: TemplatesOptions, log: (line: string) => void): Promise<TemplatesRun> {
  await seed(gw);
  const load = (mode: Mode) => ({ ...singleLoad(gw.url, gw.apiKey, opts.connections), body: BODIES[mode] });
  for (const mode of templatesRoundOrder(0)) {
    log(`templates ${mode}: warm-up ${opts.warmupS} s`);
    await runAutocannon({ ...load(mode), duration: opts.warmupS });
  }
  const runs: Record<Mode, HttpRun[]> = { explicit: [], template: [] };
  for (let round = 0; round < opts.rounds; round++) {
    for (const mode of templatesRoundOrder(round)) {
      await purgeStream(gw.nc, gw.stream);
      const run = await measureHttp(
        { name: `herald ${mode} send (round ${round + 1})`, pid: gw.pid, stream: { nc: gw.nc, name: gw.stream } },
        load(mode),
        1,
        opts.durationS,
      );
      runs[mode].push(run);
      log(`templates ${mode} (round ${round + 1}/${opts.rounds}): ${Math.round(run.rps)} req/s, p99 ${run.p99} ms, ${run.non2xx} non-2xx`);
    }
  }
  await purgeStream(gw.nc, gw.stream);
  const { explicit, template } = runs;
  const explicitRps = mean(explicit.map((r) => r.rps));
  const templateRps = mean(template.map((r) => r.rps));
  return {
    explicit,
    template,
    explicitRps,
    templateRps,
    explicitP99: mean(explicit.map((r) => r.p99)),
    templateP99: mean(template.map((r) => r.p99)),
    ratio: explicitRps > 0 ? templateRps / explicitRps : 0,
  };
}
