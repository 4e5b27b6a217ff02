/** Text to emit as is, queued between the values still to serialize. */
class Raw {
  constructor(readonly text: string) {}
}

/** Nesting served by the recursive walk; deeper values (a batch's rejected items may nest without limit) go to the iterative one. */
const MAX_RECURSION = 256;

/** Printable ASCII but `"` and `\`: quoted as is, without JSON.stringify's call. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** In place, in code-unit order, as `Array.prototype.sort` orders strings; insertion sort for the few keys of a request's objects. */
function sortKeys(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
}

function write(value: unknown, depth: number): string {
  if (typeof value === "string") return quote(value);
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (depth === MAX_RECURSION) return iterative(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + write(value[i], depth + 1);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  sortKeys(keys);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i > 0 ? "," : ""}${quote(key)}:${write(record[key], depth + 1)}`;
  }
  return `${out}}`;
}

/** The same serialization with an explicit stack, for values nested deeper than the recursive walk goes. */
function iterative(root: unknown): string {
  const out: string[] = [];
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const item = todo.pop();
    if (item instanceof Raw) {
      out.push(item.text);
    } else if (Array.isArray(item)) {
      todo.push(new Raw("]"));
      for (let i = item.length - 1; i >= 0; i--) {
        todo.push(item[i]);
        if (i > 0) todo.push(new Raw(","));
      }
      out.push("[");
    } else if (item !== null && typeof item === "object") {
      const keys = Object.keys(item);
      sortKeys(keys);
      todo.push(new Raw("}"));
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        todo.push((item as Record<string, unknown>)[key], new Raw(`${i > 0 ? "," : ""}${quote(key)}:`));
      }
      out.push("{");
    } else {
      out.push(typeof item === "string" ? quote(item) : JSON.stringify(item));
    }
  }
  return out.join("");
}

/**
 * A parsed JSON value serialized with object keys in code-unit order and no
 * whitespace, so two serializations of one value give the same string.
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}
