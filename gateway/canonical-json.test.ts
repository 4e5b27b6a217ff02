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

test("serializes what JSON.parse accepts as JSON.stringify would, without recursion", () => {
  for (const text of ["0", '""', "null", "[]", "{}", '"\\u2028\\ud83d\\ude00"', "-1.5e-7", '[[[{"a":[{}]}]]]']) {
    expect(canonicalJson(JSON.parse(text))).toBe(JSON.stringify(JSON.parse(text)));
  }
  const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
  expect(canonicalJson(JSON.parse(deep))).toBe(deep);
});
