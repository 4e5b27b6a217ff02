import { expect, test } from "bun:test";
import { canonicalJson } from "./canonical-json.ts";

test("two serializations of one value give one string: key order, whitespace, escapes and number spelling", () => {
  const a = JSON.parse('{"b":[1,{"y":2,"x":"A"}],"a":null,"c":true}');
  const b = JSON.parse('{ "c" : true, "a": null,\n "b": [1.0, {"x": "\\u0041", "y": 2e0}] }');
  expect(canonicalJson(a)).toBe('{"a":null,"b":[1,{"x":"A","y":2}],"c":true}');
  expect(canonicalJson(b)).toBe(canonicalJson(a));
});

test("keeps what makes two values different: array order, types, nesting and odd keys", () => {
  const pairs: [string, string][] = [
    ["[1,2]", "[2,1]"],
    ['{"a":1}', '{"a":"1"}'],
    ['{"a":[]}', '{"a":{}}'],
    ['{"a":{"b":1}}', '{"a.b":1}'],
    ['{"__proto__":1}', "{}"],
  ];
  for (const [x, y] of pairs) expect(canonicalJson(JSON.parse(x))).not.toBe(canonicalJson(JSON.parse(y)));
  expect(canonicalJson(JSON.parse('{"__proto__":{"a":1},"":[]}'))).toBe('{"":[],"__proto__":{"a":1}}');
});

test("writes strings and keys as JSON.stringify does: quotes, backslashes, control characters, lone surrogates", () => {
  const texts = [
    "0",
    '""',
    "null",
    "[]",
    "{}",
    '"\\u2028\\ud83d\\ude00"',
    "-1.5e-7",
    '[[[{"a":[{}]}]]]',
    '"a\\"b\\\\c\\u0000\\n\\u001f\\u007f é"',
    '"\\ud800x"',
    '{"\\"q\\\\":"\\t"}',
  ];
  for (const text of texts) expect(canonicalJson(JSON.parse(text))).toBe(JSON.stringify(JSON.parse(text)));
});

test("orders many keys as few, and in code-unit order", () => {
  const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7) % 40}`).concat(["Z", "a", "é", "10", "9"]);
  const value = Object.fromEntries(keys.map((k) => [k, k]));
  const sorted = [...keys].sort();
  expect(canonicalJson(value)).toBe(`{${sorted.map((k) => `${JSON.stringify(k)}:${JSON.stringify(k)}`).join(",")}}`);
});

test("serializes values nested past the recursive walk the same way, without overflowing the stack", () => {
  const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
  expect(canonicalJson(JSON.parse(deep))).toBe(deep);
  const levels = 1_000;
  const unsorted = `${'{"b":"x\\"","a":'.repeat(levels)}null${"}".repeat(levels)}`;
  expect(canonicalJson(JSON.parse(unsorted))).toBe(`${'{"a":'.repeat(levels)}null${',"b":"x\\""}'.repeat(levels)}`);
});
