import { expect, test } from "bun:test";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { topology } from "../../../schemas/subjects.ts";
import { consumerPlan, type PlanInput } from "./consumer-config.ts";

const topo = topology("herald");
const base: PlanInput = { topo, startAt: "new", concurrency: 8, maxDeliver: 5, ackWaitMs: 30_000, inactiveMs: 60_000 };

test("one type is filtered by the server on its subject; several read the wildcard and filter here", () => {
  expect(consumerPlan({ ...base, types: ["sent"] })).toMatchObject({ config: { filter_subject: "herald.v1.events.sent" }, clientFilter: null });
  expect(consumerPlan({ ...base, types: ["sent", "sent"] }).clientFilter).toBeNull();
  const several = consumerPlan({ ...base, types: ["sent", "failed"] });
  expect(several.config.filter_subject).toBe("herald.v1.events.>");
  expect([...(several.clientFilter ?? [])]).toEqual(["sent", "failed"]);
  expect(consumerPlan(base)).toMatchObject({ config: { filter_subject: "herald.v1.events.>" }, clientFilter: null });
});

test("startAt maps to the deliver policy", () => {
  expect(consumerPlan(base).config.deliver_policy).toBe(DeliverPolicy.New);
  expect(consumerPlan({ ...base, startAt: "all" }).config.deliver_policy).toBe(DeliverPolicy.All);
  const at = new Date("2026-12-01T00:00:00Z");
  expect(consumerPlan({ ...base, startAt: at }).config).toMatchObject({ deliver_policy: DeliverPolicy.StartTime, opt_start_time: at.toISOString() });
  expect(consumerPlan({ ...base, startAt: { seq: 42 } }).config).toMatchObject({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 42 });
});

test("in flight is bounded by max_ack_pending; a durable is named, an ephemeral one expires when left", () => {
  const durable = consumerPlan({ ...base, durable: "billing" }).config;
  expect(durable).toMatchObject({ durable_name: "billing", ack_policy: AckPolicy.Explicit, max_ack_pending: 8, max_deliver: 5 });
  expect(durable.inactive_threshold).toBeUndefined();
  const ephemeral = consumerPlan(base).config;
  expect(ephemeral.durable_name).toBeUndefined();
  expect(ephemeral.inactive_threshold).toBe(60_000 * 1_000_000);
});
