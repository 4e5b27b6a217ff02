import type { InboxFeedItem } from "../schemas/inbox-feed.ts";

/** Ids remembered to drop a repeat: far more than can straddle a replay or arrive twice from the feed. */
const REMEMBERED_IDS = 4096;

/** Replay rows read per query. */
export const REPLAY_PAGE = 200;

/**
 * One inbox stream's order of items: live items wait while the replay is
 * written, then follow it; an id already written is never written again,
 * whichever side brought it. Single-threaded JS makes the hand-over atomic:
 * `endReplay` runs between two feed callbacks.
 */
export interface LiveMerge {
  /** The feed's callback. */
  live(item: InboxFeedItem): void;
  /** One item of the replay, in order; false when it was written before. */
  replayed(item: InboxFeedItem): Promise<boolean>;
  /** Writes what arrived live during the replay, then lets live items through as they come. */
  endReplay(): Promise<void>;
}

/** `write` emits one item; `overflow` is called when more than `maxBacklog` writes wait on a slow reader. */
export function createLiveMerge(write: (item: InboxFeedItem) => Promise<void>, opts: { maxBacklog: number; overflow: () => void }): LiveMerge {
  const seen = new Set<string>();
  const held: InboxFeedItem[] = [];
  let replaying = true;
  let backlog = 0;

  const firstTime = (id: string): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    // A Set iterates in insertion order: the first key is the oldest.
    if (seen.size > REMEMBERED_IDS) seen.delete(seen.values().next().value as string);
    return true;
  };

  const emit = (item: InboxFeedItem): Promise<void> => {
    backlog++;
    if (backlog > opts.maxBacklog) opts.overflow();
    return write(item).finally(() => backlog--);
  };

  return {
    live(item) {
      if (replaying) held.push(item);
      else if (firstTime(item.id)) void emit(item);
    },
    async replayed(item) {
      if (!firstTime(item.id)) return false;
      await emit(item);
      return true;
    },
    async endReplay() {
      const waiting = held.splice(0).filter((item) => firstTime(item.id));
      replaying = false;
      await Promise.all(waiting.map(emit));
    },
  };
}
