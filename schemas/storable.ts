import { z } from "zod";

/**
 * What Postgres can store and a provider can send, checked before anything is
 * published: text without NUL or unpaired surrogates (neither `text` nor
 * `jsonb` takes them), JSON no deeper than a bound (validators and encoders
 * recurse), and timestamps inside the range Herald schedules over.
 */

/** Levels of nesting a request body may have, counted from its root. */
export const MAX_JSON_DEPTH = 64;

/** How far ahead a notification may be scheduled. */
export const MAX_SCHEDULE_AHEAD_DAYS = 366;

/** The earliest `scheduledFor` accepted; anything before it is a mistake, not a schedule. */
export const MIN_SCHEDULE_TIME = Date.UTC(2000, 0, 1);

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_ISSUES = 20;

export const TEXT_MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates";

/** True for text Postgres stores as given. */
export function isStorableText(s: string): boolean {
  return !s.includes("\u0000") && s.isWellFormed();
}

/** `s` with NUL and unpaired surrogates replaced by U+FFFD, for text Herald writes itself (errors, tombstones). */
export function toStorableText(s: string): string {
  return s.toWellFormed().replaceAll("\u0000", "\uFFFD");
}

/** A string schema that refuses what Postgres cannot store. */
export function storableText(): z.ZodString {
  return z.string().refine(isStorableText, TEXT_MESSAGE) as unknown as z.ZodString;
}

export interface StorableIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Every place in a parsed JSON value that could not be stored: unstorable
 * text in a key or a value, or nesting past `maxDepth`. Iterative, so a
 * value nested thousands of levels deep is reported, not a stack overflow.
 * Stops after a few issues: one is enough to refuse the request.
 */
export function storableIssues(root: unknown, maxDepth = MAX_JSON_DEPTH): StorableIssue[] {
  return isStorable(root, maxDepth) ? [] : findIssues(root, maxDepth);
}

/** The check every request pays: no paths, no allocation beyond the two stacks. */
function isStorable(root: unknown, maxDepth: number): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop() ?? 0;
    if (typeof value === "string") {
      if (!isStorableText(value)) return false;
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= maxDepth) return false;
    if (Array.isArray(value)) {
      for (const child of value) {
        values.push(child);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key in value) {
      if (!isStorableText(key)) return false;
      values.push((value as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

/** The slow walk, once a body is known to be refused: every issue with its path. */
function findIssues(root: unknown, maxDepth: number): StorableIssue[] {
  const issues: StorableIssue[] = [];
  const stack: Array<{ value: unknown; path: (string | number)[] }> = [{ value: root, path: [] }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (typeof value === "string") {
      if (!isStorableText(value)) issues.push({ path, message: TEXT_MESSAGE });
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (path.length >= maxDepth) {
      issues.push({ path, message: `must not be nested deeper than ${maxDepth} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
      continue;
    }
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown];
      if (!isStorableText(key)) issues.push({ path: [...path, key], message: `key ${TEXT_MESSAGE}` });
      else stack.push({ value: child, path: [...path, key] });
    }
  }
  return issues;
}

/** True when `iso` (a valid ISO 8601 date-time) is a time Herald may schedule for, seen at `nowMs`. */
export function isSchedulable(iso: string, nowMs: number = Date.now()): boolean {
  const at = Date.parse(iso);
  return at >= MIN_SCHEDULE_TIME && at <= nowMs + MAX_SCHEDULE_AHEAD_DAYS * DAY_MS;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for any RFC 9562 textual UUID: anything else would fail Postgres's uuid cast. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
