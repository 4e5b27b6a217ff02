/** The event ids handled most recently, at most `size` of them: a copy inside the window is recognised without asking anyone. */
export interface DedupeWindow {
  has(eventId: string): boolean;
  add(eventId: string): void;
  readonly size: number;
}

/** A bounded LRU set: the oldest id leaves when a new one would pass `capacity`; a hit makes an id young again. Capacity 0 remembers nothing. */
export function dedupeWindow(capacity: number): DedupeWindow {
  const ids = new Map<string, true>();
  return {
    has(eventId) {
      if (!ids.has(eventId)) return false;
      ids.delete(eventId);
      ids.set(eventId, true);
      return true;
    },
    add(eventId) {
      if (capacity <= 0) return;
      ids.delete(eventId);
      ids.set(eventId, true);
      if (ids.size > capacity) {
        const oldest = ids.keys().next();
        if (!oldest.done) ids.delete(oldest.value);
      }
    },
    get size() {
      return ids.size;
    },
  };
}
