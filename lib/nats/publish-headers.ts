/**
 * The headers of one gateway publish (`Nats-Msg-Id`, then `traceparent` /
 * `tracestate`), written as the NATS wire text while they are set, instead of
 * through nats.js's `headers()`: its `set` canonicalises the key into a char
 * array, lists and filters the keys twice, tests a RegExp and keeps a Map of
 * arrays, and `encode` walks that Map again, all on every publish
 * (./publish-headers.bench.ts compares the two).
 *
 * nats.js publishes a message's headers by calling their `encode()`; that is
 * the contract this class meets (publish-headers.test.ts compares the bytes
 * with nats.js's own and round-trips them through nats-server). Anything
 * beyond appending a new key — reading, deleting, another match mode — moves
 * the headers into a nats.js `MsgHdrs` and goes on there, so every method
 * keeps nats.js's meaning.
 */
import { headers as natsHeaders, Match, type MsgHdrs } from "@nats-io/nats-core";

const TE = new TextEncoder();
const VERSION_LINE = "NATS/1.0";
/** An HTTP token: what a header name may be made of (nats.js refuses the rest). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LINE_BREAK = /[\r\n]/;

/** nats.js's header object as its `publish` uses it. */
type Encodable = MsgHdrs & { encode(): Uint8Array };

export class PublishHeaders implements MsgHdrs {
  /** The headers as wire text so far: the version line, then `\r\nName: value` per header. */
  #text = VERSION_LINE;
  /** The same headers as [name, value] pairs, for `full()`. */
  readonly #pairs: Array<[string, string]> = [];
  #full: Encodable | undefined;

  /** Adds `name: value` (a name not set yet) on the fast path; anything else goes to nats.js's headers. */
  set(name: string, value: string, match: Match = Match.Exact): void {
    if (this.#full === undefined && match === Match.Exact && !this.#pairs.some(([set]) => set === name)) this.append(name, value);
    else this.full().set(name, value, match);
  }

  append(name: string, value: string, match: Match = Match.Exact): void {
    if (this.#full !== undefined || match !== Match.Exact || !TOKEN.test(name)) {
      this.full().append(name, value, match);
      return;
    }
    if (LINE_BREAK.test(value)) throw new TypeError(`header ${name}: a value cannot contain \\r or \\n`);
    const line = value.trim();
    this.#pairs.push([name, line]);
    this.#text += `\r\n${name}: ${line}`;
  }

  /** The bytes nats.js puts after HPUB's control line. */
  encode(): Uint8Array {
    return this.#full === undefined ? TE.encode(`${this.#text}\r\n\r\n`) : this.#full.encode();
  }

  /** nats.js's headers holding what was set so far; from now on every call goes there. */
  private full(): Encodable {
    if (this.#full === undefined) {
      const full = natsHeaders() as Encodable;
      for (const [name, value] of this.#pairs) full.append(name, value);
      this.#full = full;
    }
    return this.#full;
  }

  get hasError(): boolean {
    return false;
  }
  get status(): string {
    return "";
  }
  get code(): number {
    return 0;
  }
  get description(): string {
    return "";
  }
  get(name: string, match?: Match): string {
    return this.full().get(name, match);
  }
  has(name: string, match?: Match): boolean {
    return this.full().has(name, match);
  }
  keys(): string[] {
    return this.full().keys();
  }
  values(name: string, match?: Match): string[] {
    return this.full().values(name, match);
  }
  delete(name: string, match?: Match): void {
    this.full().delete(name, match);
  }
  last(name: string, match?: Match): string {
    return this.full().last(name, match);
  }
  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.full()[Symbol.iterator]();
  }
}
