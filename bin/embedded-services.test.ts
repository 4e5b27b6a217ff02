import { expect, test } from "bun:test";
import { redactUrl } from "./embedded-services.ts";

test("redactUrl hides the password of each server a comma-separated NATS_URL lists", () => {
  expect(redactUrl("tls://herald:s3cret@nats-0:4222,tls://herald:s3cret@nats-1:4222,nats://nats-2:4222")).toBe(
    "tls://herald:***@nats-0:4222,tls://herald:***@nats-1:4222,nats://nats-2:4222",
  );
  expect(redactUrl("postgres://herald:pw@db:5432/herald")).toBe("postgres://herald:***@db:5432/herald");
});
