import type { JsMsg } from "@nats-io/jetstream";
import { unreachable, type Decision } from "./outcome.ts";

/**
 * The one place a batch's messages are acked, naked, termed or marked
 * working. Each message is settled once: a second settlement of the same
 * message is ignored, so no step can both nak and ack it.
 */
export interface Settlement {
  ack(m: JsMsg): void;
  nak(m: JsMsg, delayMs: number): void;
  term(m: JsMsg): void;
  /** Settles a message the way a send's decision says. */
  apply(m: JsMsg, decision: Decision): void;
  /** Keeps JetStream's AckWait from expiring for what is still unsettled, every `everyMs`. */
  keepAlive(everyMs: number): void;
  /** Gives every unsettled message back to the stream after `delayMs`; how many. */
  returnRest(delayMs: number): number;
  /** Stops the keep-alive; call once the batch is done. */
  close(): void;
}

export function createSettlement(msgs: readonly JsMsg[]): Settlement {
  const settled = new Set<JsMsg>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const once = (m: JsMsg, act: () => void) => {
    if (settled.has(m)) return;
    settled.add(m);
    act();
  };
  const self: Settlement = {
    ack: (m) => once(m, () => m.ack()),
    nak: (m, delayMs) => once(m, () => m.nak(delayMs)),
    // No reason argument: servers before 2.11 do not recognise `+TERM <reason>`
    // and leave the message pending. The reason travels in the dead letter.
    term: (m) => once(m, () => m.term()),
    apply(m, decision) {
      switch (decision.action) {
        case "ack":
          return self.ack(m);
        case "nak":
          return self.nak(m, decision.delayMs);
        case "term":
          return self.term(m);
        default:
          return unreachable(decision);
      }
    },
    keepAlive(everyMs) {
      timer ??= setInterval(() => {
        for (const m of msgs) if (!settled.has(m)) m.working();
      }, everyMs);
    },
    returnRest(delayMs) {
      let n = 0;
      for (const m of msgs) {
        if (settled.has(m)) continue;
        self.nak(m, delayMs);
        n += 1;
      }
      return n;
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  return self;
}
