// The processor's render cost per notification: one published email version
// (subject, text and html with a loop over the order's items) rendered for
// notification after notification, the way the processor does it, through the
// engine's parse cache (the version key given) and without it (every field
// parsed again, as a draft's preview is), rounds alternating so drift falls on
// both alike. Beside it, the accept path's variables check of the same data.
// In process, no I/O: `bun bench/phases/render.ts` prints one run.
import { createTemplateEngine, localeChain, pickContent, renderChannel, type RenderKey } from "../../lib/templates/render.ts";
import { validateVariables } from "../../lib/templates/variables.ts";
import type { TemplateContent } from "../../schemas/recipients.ts";
import type { RenderRun } from "../types.ts";

export interface RenderOptions {
  /** Notifications rendered per round and way. */
  notifications: number;
  rounds: number;
}

const CONTENT: TemplateContent = {
  variables: {
    type: "object",
    required: ["order"],
    properties: {
      order: {
        type: "object",
        required: ["id", "total", "items"],
        properties: {
          id: { type: "string" },
          total: { type: "number", minimum: 0 },
          items: { type: "array", items: { type: "object", required: ["name", "qty"], properties: { name: { type: "string" }, qty: { type: "integer" } } } },
        },
      },
    },
  },
  locales: {
    default: {
      email: {
        subject: "Order {{ data.order.id }} shipped",
        text: "Hi {{ user.name | default: 'there' }},\n{% for item in data.order.items %}- {{ item.qty }} × {{ item.name }}\n{% endfor %}Total: {{ data.order.total | round: 2 }}",
        html: "<p>Hi {{ user.name | default: 'there' }},</p><ul>{% for item in data.order.items %}<li>{{ item.qty }} × {{ item.name }}</li>{% endfor %}</ul><p>Total: <b>{{ data.order.total | round: 2 }}</b></p>",
      },
    },
    de: { email: { subject: "Bestellung {{ data.order.id }} verschickt", text: "Hallo {{ user.name }}", html: "<p>Hallo {{ user.name }}</p>" } },
  },
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

function dataOf(i: number): Record<string, unknown> {
  return {
    order: {
      id: `o-${i}`,
      total: 19.99 + i,
      items: [
        { name: "Mug <large>", qty: 2 },
        { name: "Tea", qty: 1 },
        { name: `Gift ${i}`, qty: 1 },
      ],
    },
  };
}

export async function renderPhase(opts: RenderOptions, log: (line: string) => void): Promise<RenderRun> {
  const engine = createTemplateEngine();
  const inputs = Array.from({ length: 1000 }, (_, i) => ({ data: dataOf(i), user: { name: `User ${i}`, locale: i % 10 === 0 ? "de-AT" : "en" } }));
  const key = (locale: string): RenderKey => ({ tenantId: "acme", name: "order-shipped", version: 3, locale });

  // Per notification as the processor does it: the locale chain, the pick, the render.
  const time = (cached: boolean, n: number): number => {
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const input = inputs[i % inputs.length] as (typeof inputs)[number];
      const picked = pickContent(CONTENT, "email", localeChain(undefined, input.user.locale));
      if (picked === null) throw new Error("no email content");
      renderChannel(engine, "email", picked.content, input, cached ? key(picked.locale) : undefined);
    }
    return ((performance.now() - started) * 1000) / n;
  };

  time(true, opts.notifications / 4);
  time(false, opts.notifications / 4);
  const cachedUs: number[] = [];
  const uncachedUs: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    if (r % 2 === 0) {
      cachedUs.push(time(true, opts.notifications));
      uncachedUs.push(time(false, opts.notifications));
    } else {
      uncachedUs.push(time(false, opts.notifications));
      cachedUs.push(time(true, opts.notifications));
    }
    log(`render: round ${r + 1}: cached ${cachedUs.at(-1)?.toFixed(2)} µs, uncached ${uncachedUs.at(-1)?.toFixed(2)} µs a notification`);
  }

  const started = performance.now();
  for (let i = 0; i < opts.notifications; i++) {
    const result = validateVariables(CONTENT.variables, (inputs[i % inputs.length] as (typeof inputs)[number]).data);
    if (!result.ok) throw new Error(`bench data failed its schema: ${JSON.stringify(result.errors)}`);
  }
  const validateUs = ((performance.now() - started) * 1000) / opts.notifications;
  log(`render: variables check ${validateUs.toFixed(2)} µs a send`);

  return {
    notifications: opts.notifications,
    rounds: opts.rounds,
    cachedUs,
    uncachedUs,
    perNotificationUs: median(cachedUs),
    uncachedPerNotificationUs: median(uncachedUs),
    validateUs,
  };
}

if (import.meta.main) {
  const run = await renderPhase({ notifications: 10_000, rounds: 5 }, (line) => console.log(line));
  console.log(
    JSON.stringify({ perNotificationUs: run.perNotificationUs, uncachedPerNotificationUs: run.uncachedPerNotificationUs, validateUs: run.validateUs }),
  );
}
