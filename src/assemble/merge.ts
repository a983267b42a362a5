/**
 * The event-time merge of all sources (ARCHITECTURE.md, "Time"): events from several files come
 * out in the order of their header times. An event is held until every source that is still
 * reading has shown an event at least as late, or is idle (caught up / finished), so a worker's
 * line is never handed on before the miner line it follows. Ties keep source order (the miner's
 * sources are registered first), then arrival order.
 */
export interface Timed {
  timeMs: number;
}

interface Queue<T> {
  /** Handed-on slots are cleared (an event may hold a prompt's bytes) until the array is compacted. */
  items: (T | undefined)[];
  /** When each item arrived (wall ms), for the lateness allowance. */
  arrived: number[];
  head: number;
  idle: boolean;
}

/**
 * How long (wall ms) an event waits for an earlier one that an idle source may still deliver:
 * a file's change is seen a few ms after another's, so a line written just before may be read
 * just after. 0 hands the event on at once.
 */
export type Lateness<T> = (item: T) => number;

export class EventMerger<T extends Timed> {
  private readonly queues: Queue<T>[] = [];
  private readonly index = new Map<string, number>();

  /** Registers a source; earlier registered sources win ties. */
  addSource(id: string): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.queues.length);
    this.queues.push({ items: [], arrived: [], head: 0, idle: false });
  }

  push(id: string, item: T, arrivedMs = 0): void {
    const q = this.queues[this.index.get(id)!]!;
    q.items.push(item);
    q.arrived.push(arrivedMs);
  }

  /** Idle: caught up with its file (live) or finished (one-shot); no earlier event can follow. */
  setIdle(id: string, idle: boolean): void {
    this.queues[this.index.get(id)!]!.idle = idle;
  }

  /** The oldest event of a source not handed on yet. */
  peek(id: string): T | undefined {
    const q = this.queues[this.index.get(id)!]!;
    return q.head < q.items.length ? q.items[q.head] : undefined;
  }

  get held(): number {
    let n = 0;
    for (const q of this.queues) n += q.items.length - q.head;
    return n;
  }

  /**
   * Hands on, in time order, every event no source can still precede. With `lateness`, an event
   * also waits that long after its arrival while some idle source has nothing queued; with `ready`,
   * the merge stops at the first event not ready (work on it still running elsewhere).
   */
  *drain(nowMs = 0, lateness?: Lateness<T>, ready?: (item: T) => boolean): Generator<T> {
    for (;;) {
      let best = -1;
      let bestTime = Infinity;
      let someIdleEmpty = false;
      for (let i = 0; i < this.queues.length; i++) {
        const q = this.queues[i]!;
        if (q.head === q.items.length) {
          if (!q.idle) return; // this source may still produce an earlier event
          someIdleEmpty = true;
          continue;
        }
        const t = q.items[q.head]!.timeMs;
        if (t < bestTime) {
          bestTime = t;
          best = i;
        }
      }
      if (best === -1) return;
      const q = this.queues[best]!;
      if (lateness && someIdleEmpty && nowMs - q.arrived[q.head]! < lateness(q.items[q.head]!)) return;
      const item = q.items[q.head]!;
      if (ready && !ready(item)) return;
      q.items[q.head++] = undefined;
      if (q.head > 1024 && q.head * 2 > q.items.length) {
        q.items = q.items.slice(q.head);
        q.arrived = q.arrived.slice(q.head);
        q.head = 0;
      }
      yield item;
    }
  }
}
