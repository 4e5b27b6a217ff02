import type { JsMsg } from "@nats-io/jetstream";
import { Envelope } from "../schemas/envelope.ts";
import { isSchedulable, storableIssues } from "../schemas/storable.ts";

export type Decoded =
  | { kind: "ok"; msg: JsMsg; envelope: Envelope }
  /** An envelope Postgres could never store (NUL, unpaired surrogates, an impossible time): failed on its own, never in a batch. */
  | { kind: "unstorable"; msg: JsMsg; envelope: Envelope; reason: string }
  /** Not an envelope at all: there is no id to fail, only the raw message to dead-letter. */
  | { kind: "invalid"; msg: JsMsg; reason: string };

/** Parses and validates one message; garbage is reported, never thrown. */
export function decode(msg: JsMsg): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(msg.string());
  } catch (err) {
    return { kind: "invalid", msg, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = Envelope.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { kind: "invalid", msg, reason: `invalid envelope: ${issues.join("; ")}` };
  }
  const envelope = parsed.data;
  const unstorable = storableIssues(envelope).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  // Only the gateway's lower bound: a schedule may have been far ahead when it was accepted.
  if (envelope.scheduledFor !== null && !isSchedulable(envelope.scheduledFor, Number.POSITIVE_INFINITY)) unstorable.push("scheduledFor: out of range");
  if (!isSchedulable(envelope.acceptedAt, Number.POSITIVE_INFINITY)) unstorable.push("acceptedAt: out of range");
  if (unstorable.length > 0) return { kind: "unstorable", msg, envelope, reason: `could not be stored: ${unstorable.slice(0, 5).join("; ")}` };
  return { kind: "ok", msg, envelope };
}
