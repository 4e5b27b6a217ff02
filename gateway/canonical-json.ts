/** Text to emit as is, queued between the values still to serialize. */
class Raw {
  constructor(readonly text: string) {}
}

/**
 * A parsed JSON value serialized with object keys in code-unit order and no
 * whitespace, so two serializations of one value give the same string.
 * Iterative, because a batch's rejected items may nest deeper than the stack.
 */
export function canonicalJson(root: unknown): string {
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
      const keys = Object.keys(item).sort();
      todo.push(new Raw("}"));
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        todo.push((item as Record<string, unknown>)[key], new Raw(`${i > 0 ? "," : ""}${JSON.stringify(key)}:`));
      }
      out.push("{");
    } else {
      out.push(JSON.stringify(item));
    }
  }
  return out.join("");
}
