export * from "./enums.ts";
export * from "./request.ts";
export * from "./envelope.ts";
export * from "./events.ts";
export * from "./subjects.ts";
export * from "./tables.ts";
export type { Database } from "./database.ts";
