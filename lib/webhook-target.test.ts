import { describe, expect, test } from "bun:test";
import { refusedTarget } from "./webhook-target.ts";

const refused = (url: string, allowPrivate = false) => refusedTarget(new URL(url), allowPrivate);

describe("refusedTarget", () => {
  test("takes an https URL naming a public host or address", () => {
    expect(refused("https://hooks.example.com/herald")).toBeNull();
    expect(refused("https://93.184.216.34/hook")).toBeNull();
  });

  test("refuses http unless private targets are allowed", () => {
    expect(refused("http://hooks.example.com/herald")).toBe("must be an https URL");
    expect(refused("http://hooks.example.com/herald", true)).toBeNull();
  });

  test("refuses loopback, private, link-local and localhost names as written, IPv6 forms included", () => {
    for (const url of [
      "https://127.0.0.1/",
      "https://10.0.0.8/",
      "https://169.254.169.254/latest",
      "https://localhost/",
      "https://a.localhost/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
    ]) {
      expect({ url, refused: refused(url) !== null }).toEqual({ url, refused: true });
    }
  });

  test("lets every address through when private targets are allowed (dev and tests)", () => {
    expect(refused("http://127.0.0.1:8080/hook", true)).toBeNull();
  });

  test("refuses schemes other than http and https even then", () => {
    expect(refused("ftp://example.com/", true)).toBe("must be an http or https URL");
  });
});
