/**
 * Time for everything that waits: timeouts, rotation, back-off. Injected so tests control it.
 * `Clock` is the wall clock. `EventClock` is the time timeouts run on: the newest event time
 * while catching up on history; once every source is caught up, it goes on from the newest event by
 * the elapsed (monotonic) time. So a miner's clock or zone that differs from ours (or logs from long
 * ago) does not time out every open task the moment we catch up, and a step of the system clock
 * closes none.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Milliseconds on a clock that never steps (elapsed time); without it, `now`. */
  monotonic?(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** A clock tests set by hand: `set`/`advance` let time pass, `stepWall` moves the wall clock alone (an NTP step, a hand-set clock). */
export class ManualClock implements Clock {
  private mono = 0;
  constructor(private ms: number = Date.UTC(2025, 10, 12, 21, 30, 45, 123)) {}
  now(): number {
    return this.ms;
  }
  monotonic(): number {
    return this.mono;
  }
  set(ms: number): void {
    this.mono += ms - this.ms;
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
    this.mono += ms;
  }
  stepWall(ms: number): void {
    this.ms += ms;
  }
}

/** Elapsed time of a clock: its monotonic reading, else its wall time. */
export const elapsedOf = (c: Clock): number => (c.monotonic ? c.monotonic() : c.now());

/**
 * Notices the wall clock stepping (NTP, a hand-set date): the wall clock moved unlike elapsed time.
 * Returns the step in ms when it exceeds `minMs`, else 0.
 */
export class ClockStepWatch {
  private last: { wall: number; mono: number } | null = null;
  constructor(
    private readonly clock: Clock,
    private readonly minMs = 60_000,
  ) {}
  check(): number {
    const now = { wall: this.clock.now(), mono: elapsedOf(this.clock) };
    const prev = this.last;
    this.last = now;
    if (!prev) return 0;
    const step = now.wall - prev.wall - (now.mono - prev.mono);
    return Math.abs(step) >= this.minMs ? step : 0;
  }
}

export class EventClock implements Clock {
  private newestEventMs = Number.NEGATIVE_INFINITY;
  /** Elapsed-time reading when the newest event was seen: a step of the wall clock moves no timeout. */
  private elapsedAtNewestMs = 0;
  private caughtUp = false;

  constructor(private readonly wall: Clock = systemClock) {}

  /** Called with each event's time, in merge order; time never goes back. */
  observe(eventMs: number): void {
    if (eventMs > this.newestEventMs) {
      this.newestEventMs = eventMs;
      this.elapsedAtNewestMs = elapsedOf(this.wall);
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
    return this.newestEventMs + Math.max(0, elapsedOf(this.wall) - this.elapsedAtNewestMs);
  }
}
