/**
 * Time for everything that waits: timeouts, rotation, back-off. Injected so tests control it.
 * `Clock` is the wall clock. `EventClock` is the time timeouts run on: the newest event time
 * while catching up on history; once every source is caught up, it goes on at the wall clock's
 * pace from the newest event, so a miner's clock or zone that differs from ours (or logs from
 * long ago) does not time out every open task the moment we catch up.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests set by hand. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.UTC(2025, 10, 12, 21, 30, 45, 123)) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class EventClock implements Clock {
  private newestEventMs = Number.NEGATIVE_INFINITY;
  private wallAtNewestMs = 0;
  private caughtUp = false;

  constructor(private readonly wall: Clock = systemClock) {}

  /** Called with each event's time, in merge order; time never goes back. */
  observe(eventMs: number): void {
    if (eventMs > this.newestEventMs) {
      this.newestEventMs = eventMs;
      this.wallAtNewestMs = this.wall.now();
    }
  }

  setCaughtUp(caughtUp: boolean): void {
    this.caughtUp = caughtUp;
  }

  /** Whether any event time was seen (before that, `now` is the wall clock's). */
  hasObserved(): boolean {
    return Number.isFinite(this.newestEventMs);
  }

  isCaughtUp(): boolean {
    return this.caughtUp;
  }

  now(): number {
    if (!Number.isFinite(this.newestEventMs)) return this.wall.now();
    if (!this.caughtUp) return this.newestEventMs;
    return this.newestEventMs + Math.max(0, this.wall.now() - this.wallAtNewestMs);
  }
}
