/**
 * What the daemon says in its own log, as text (issue 14): one line per record, and a status line
 * only when something changed. Pure: no I/O, the time comes in with each call.
 *
 * Each line comes with `fields` for the JSON form (`--log-format json`); in the human form the
 * message says it all, so log it with no fields: `logger.info(json ? fields : {}, msg)`.
 */
import type { GenerationRecord } from '../schema';

/** `record 9605ef60 TEXT-TO-3D validator 57 score 0.93 accepted 21.4s`; what is unknown is left out. */
export function recordLine(r: GenerationRecord): string {
  const fb = r.validator_feedback;
  const parts = ['record', r.metadata.generation_id.slice(0, 8)];
  if (r.task.task_type) parts.push(r.task.task_type);
  parts.push(`validator ${r.metadata.validator_uid ?? '?'}`);
  if (fb.score !== null) parts.push(`score ${round(fb.score, 4)}`); // as the miner logs it (4 decimals), without float noise
  else parts.push(fb.received ? 'no score' : 'no feedback');
  if (r.outcome !== 'no_feedback') parts.push(r.outcome); // "no feedback" said it already
  const error = r.failure_analysis.error_type;
  if (error && error !== r.outcome) parts.push(`(${error})`);
  const seconds = r.generation.timing.total_time;
  if (seconds !== null) parts.push(`${seconds.toFixed(1)}s`);
  if (r.provenance.revision > 0) parts.push(`revision ${r.provenance.revision}`);
  return parts.join(' ');
}

/** The same record for the JSON form: the whole id, unknowns as null. */
export function recordFields(r: GenerationRecord): Record<string, unknown> {
  return {
    id: r.metadata.generation_id,
    type: r.task.task_type,
    validator: r.metadata.validator_uid,
    score: r.validator_feedback.score,
    outcome: r.outcome,
    errorType: r.failure_analysis.error_type,
    seconds: r.generation.timing.total_time,
    revision: r.provenance.revision,
  };
}

export interface StatusSample {
  nowMs: number;
  /** Lines read since start (the miner logs a status line every 30 s: reading alone is no news). */
  lines: number;
  /** A change in any of these three is worth a line. */
  records: number;
  openTasks: number;
  quarantined: number;
  /** How far the collector is behind the miner's newest line; null when unknown. */
  lagSeconds: number | null;
  minerLastLineAgeSeconds: number | null;
}

export interface StatusLineOptions {
  /** At most one line this often (default 60 000). */
  everyMs?: number;
  /**
   * Records remembered (default 20 000, 9 bytes each): more in one hour and the hour's count is a lower
   * bound, shown `20000+ records/h`, its acceptance that of the newest 20 000.
   */
  capacity?: number;
}

const HOUR_MS = 3_600_000;

const VERDICT_NONE = 0;
const VERDICT_REJECTED = 1;
const VERDICT_ACCEPTED = 2;

/**
 * Decides the periodic status line: at most every `everyMs`, and only when records, open tasks or
 * quarantined changed since the last line printed (the first sample counts as printed: starting
 * says nothing). Rates over the last hour come from a ring of the last records' times, so memory
 * stays bounded however busy the miner is.
 */
export class StatusLine {
  readonly everyMs: number;
  private readonly times: Float64Array;
  private readonly verdicts: Uint8Array;
  private head = 0;
  private size = 0;
  /** The latest time of a record the ring has forgotten: within the hour, the hour's count is a lower bound. */
  private forgottenMs = Number.NEGATIVE_INFINITY;
  private last: { ms: number; key: string } | null = null;

  constructor(opts: StatusLineOptions = {}) {
    this.everyMs = opts.everyMs ?? 60_000;
    const capacity = Math.max(1, opts.capacity ?? 20_000);
    this.times = new Float64Array(capacity);
    this.verdicts = new Uint8Array(capacity);
  }

  /** A record was written at `nowMs`; `accepted` null when it has no verdict (no score). */
  noteRecord(nowMs: number, r: { accepted: boolean | null }): void {
    if (this.size === this.times.length) this.forgottenMs = Math.max(this.forgottenMs, this.times[this.head]!);
    else this.size++;
    this.times[this.head] = nowMs;
    this.verdicts[this.head] = r.accepted === null ? VERDICT_NONE : r.accepted ? VERDICT_ACCEPTED : VERDICT_REJECTED;
    this.head = (this.head + 1) % this.times.length;
  }

  /** The line to log now, or null. */
  next(s: StatusSample): { msg: string; fields: Record<string, unknown> } | null {
    const key = `${s.records}/${s.openTasks}/${s.quarantined}`;
    if (!this.last) {
      this.last = { ms: s.nowMs, key };
      return null;
    }
    if (s.nowMs - this.last.ms < this.everyMs || key === this.last.key) return null;
    this.last = { ms: s.nowMs, key };

    const from = s.nowMs - HOUR_MS;
    let records = 0;
    let verdicts = 0;
    let accepted = 0;
    for (let i = 0; i < this.size; i++) {
      const t = this.times[i]!;
      if (t <= from || t > s.nowMs) continue;
      records++;
      const v = this.verdicts[i];
      if (v !== VERDICT_NONE) verdicts++;
      if (v === VERDICT_ACCEPTED) accepted++;
    }
    const capped = this.forgottenMs > from;
    const parts = [
      `status ${records}${capped ? '+' : ''} records/h`,
      verdicts
        ? `acceptance ${Math.round((100 * accepted) / verdicts)}% (${accepted} of ${verdicts}) last hour`
        : 'acceptance n/a last hour',
      `${s.openTasks} open`,
    ];
    if (s.quarantined) parts.push(`${s.quarantined} quarantined`);
    if (s.lagSeconds !== null) parts.push(`lag ${duration(s.lagSeconds)}`);
    if (s.minerLastLineAgeSeconds !== null) parts.push(`miner's last line ${duration(s.minerLastLineAgeSeconds)} ago`);
    return {
      msg: parts.join(', '),
      fields: {
        recordsLastHour: records,
        acceptedLastHour: accepted,
        verdictsLastHour: verdicts,
        acceptance: verdicts ? accepted / verdicts : null,
        recordsLastHourIsLowerBound: capped,
        lines: s.lines,
        records: s.records,
        openTasks: s.openTasks,
        quarantined: s.quarantined,
        lagSeconds: s.lagSeconds,
        minerLastLineAgeSeconds: s.minerLastLineAgeSeconds,
      },
    };
  }
}

/** 4s, 75s, 12m, 3.5h: whole seconds up to 90 s, minutes up to 90 min, then hours. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${round(s / 3600, 1)}h`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
