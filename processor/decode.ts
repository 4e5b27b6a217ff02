import type { JsMsg } from "@nats-io/jetstream";
import { Envelope } from "../schemas/envelope.ts";

export type Decoded = { ok: true; msg: JsMsg; envelope: Envelope } | { ok: false; msg: JsMsg; reason: string };

/** Parses and validates one message; garbage is reported, never thrown. */
export function decode(msg: JsMsg): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(msg.string());
  } catch (err) {
    return { ok: false, msg, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = Envelope.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { ok: false, msg, reason: `invalid envelope: ${issues.join("; ")}` };
  }
  return { ok: true, msg, envelope: parsed.data };
}
