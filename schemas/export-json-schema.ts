import { z } from "zod";
import { Envelope } from "./envelope.ts";
import { LifecycleEvent } from "./events.ts";
import { EndpointDisabledEvent } from "./ops-events.ts";

/** The JSON Schema files other services subscribe against; checked in and compared by a test. */
export function eventContracts(): Record<string, unknown> {
  return {
    "lifecycle-event.v1.schema.json": z.toJSONSchema(LifecycleEvent, { target: "draft-2020-12" }),
    "envelope.v1.schema.json": z.toJSONSchema(Envelope, { target: "draft-2020-12" }),
    "endpoint-disabled.v1.schema.json": z.toJSONSchema(EndpointDisabledEvent, { target: "draft-2020-12" }),
  };
}

export function render(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (import.meta.main) {
  const dir = new URL("./json/", import.meta.url);
  for (const [name, doc] of Object.entries(eventContracts())) {
    await Bun.write(new URL(name, dir), render(doc));
    console.log(`wrote schemas/json/${name}`);
  }
}
