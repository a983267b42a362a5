/**
 * How far a source's clock runs from the miner's (a worker container in another zone, a host whose
 * clock was never set). The miner's lines drive the task clock; another source's times are moved by
 * the offset measured here before they are merged, or a worker 3 hours ahead would hold every event
 * back and time out every task.
 *
 * Measured only while reading live: a line read as it is written carries, in its own clock, about the
 * time the miner's clock shows then (the miner's newest line, advanced by the wall time since it was
 * read). The median of recent samples is the offset; within `alignedMs` the clocks count as aligned
 * (reading jitter, not skew); within two minutes of a whole quarter hour it is that quarter hour (zones
 * differ by multiples of 15 minutes).
 */
const SAMPLES = 15;
const QUARTER_HOUR_MS = 15 * 60_000;
const SNAP_MS = 120_000;
const STALE_FIRST_MS = 60_000;

export interface ClockSkewOptions {
  /** Offsets smaller than this are jitter: the source counts as aligned (default 2 minutes). */
  alignedMs?: number;
  /** The miner's newest line must have been read at most this long ago (wall) to compare with (default 10 s; 60 s for the first sample). */
  freshMs?: number;
}

export class ClockSkew {
  private readonly samples: number[] = [];
  private offset: number;
  private readonly alignedMs: number;
  private readonly freshMs: number;

  /** `knownMs`: the offset measured by an earlier run (the state), used until new samples say otherwise. */
  constructor(knownMs = 0, opts: ClockSkewOptions = {}) {
    this.offset = knownMs;
    this.alignedMs = opts.alignedMs ?? 120_000;
    this.freshMs = opts.freshMs ?? 10_000;
  }

  /** Milliseconds this source's clock runs ahead of the miner's (0 when aligned). */
  get offsetMs(): number {
    return this.offset;
  }

  /**
   * A line of this source read live at `wallMs`, carrying `timeMs`; the miner's newest line carried
   * `minerTimeMs` and was read at `minerReadMs`. Returns true when the offset changed.
   */
  sample(timeMs: number, wallMs: number, minerTimeMs: number, minerReadMs: number): boolean {
    // a miner line read long ago tells little of the miner's clock now: only the first sample may use
    // one up to a minute old (better than no correction at all), later ones want a fresh one
    const age = wallMs - minerReadMs;
    if (!Number.isFinite(timeMs) || !Number.isFinite(minerTimeMs) || age > (this.samples.length ? this.freshMs : STALE_FIRST_MS)) return false;
    this.samples.push(timeMs - (minerTimeMs + Math.max(0, wallMs - minerReadMs)));
    if (this.samples.length > SAMPLES) this.samples.shift();
    const next = settle(median(this.samples), this.alignedMs);
    if (next === this.offset) return false;
    this.offset = next;
    return true;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Jitter is 0; near a whole quarter hour is that quarter hour; else the measure, to the second. */
export function settle(measuredMs: number, alignedMs: number): number {
  if (Math.abs(measuredMs) < alignedMs) return 0;
  const quarter = Math.round(measuredMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  if (Math.abs(measuredMs - quarter) <= SNAP_MS) return quarter;
  return Math.round(measuredMs / 1000) * 1000;
}
