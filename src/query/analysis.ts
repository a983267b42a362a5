/**
 * The figures of `analyze`, computed from the selected rows: the counts in one walk, then each
 * distribution from its column. Percentiles are exact (nearest rank: the smallest value with at least
 * p % of the values at or below it), found by passes over the column rather than by holding it (quantiles.ts).
 * Acceptance rate = accepted / feedback received.
 */
import { ERROR_TYPES, OUTCOMES, TASK_TYPES } from '../schema/constants';
import type { Outcome } from '../schema';
import { F_FAILED, F_INFERRED, F_PRE_REJECTED, F_RECEIVED, F_SUBMITTED, type ColumnRef } from './columns';
import type { Dataset } from './dataset';
import { DAY_MS } from './filter';
import { distributions, type Dist, type ValuePass } from './quantiles';

export type { Dist } from './quantiles';

export interface Counts {
  records: number;
  feedback_received: number;
  accepted: number;
  /** accepted / feedback_received; null when no feedback was received. */
  acceptance_rate: number | null;
  by_outcome: Record<Outcome, number>;
}

export interface ValidatorRow extends Counts {
  validator_uid: number | null;
  score: Dist;
  feedback_delay_seconds: Dist;
}

export interface Analysis {
  summary: Counts & {
    by_task_type: (Counts & { task_type: string })[];
    score: Dist;
    clip_score: Dist;
    generation_time: Record<string, Dist>;
    submitted: number;
    submission_rate: number | null;
    failed: number;
    failure_rate: number | null;
    pre_submission_rejections: number;
    inferred_attribution: number;
    first_record: string | null;
    last_record: string | null;
  };
  acceptance: {
    overall: Counts;
    by_task_type: (Counts & { task_type: string })[];
    by_day: (Counts & { day: string; by_task_type: Record<string, Counts> })[];
  };
  failures: {
    failed: number;
    by_type: { error_type: string; count: number; share: number; sample_message: string | null }[];
    by_day: { day: string; by_type: Record<string, number> }[];
  };
  clip_distribution: {
    n: number;
    threshold: number | null;
    threshold_source: 'flag' | 'records' | null;
    thresholds_seen: { value: number; records: number }[];
    bin_width: number;
    bins: { from: number; to: number; count: number }[];
    below_threshold: number | null;
  };
  validators: ValidatorRow[];
}

export interface AnalysisOptions {
  /** --clip-threshold; else the most common miner_config.clip_threshold of the selected records. */
  clipThreshold?: number;
  clipBinWidth?: number;
}

/**
 * One pass over the selected rows' values of `column` (NaN = none), with each row's value of `key` as
 * its group (0 when no key is given). Each pass reads only those two columns from the chunk file.
 */
function valuesOf(ds: Dataset, sel: Uint8Array, column: ColumnRef, key: ColumnRef | null = null): ValuePass {
  return (each) =>
    ds.chunks.forEachColumns(key ? [column, key] : [column], ([col, keys], k, n) => {
      if (!col) return;
      const off = ds.offsets[k]!;
      for (let i = 0; i < n; i++) if (sel[off + i] && !Number.isNaN(col[i]!)) each(col[i]!, keys ? keys[i]! : 0);
    });
}

const NO_VALUES: Dist = { n: 0, mean: null, min: null, p50: null, p90: null, p99: null, max: null };

const ACCEPTED = OUTCOMES.indexOf('accepted');

class Counter {
  records = 0;
  received = 0;
  accepted = 0;
  outcomes = new Array<number>(OUTCOMES.length).fill(0);
  add(outcome: number, flags: number): void {
    this.records++;
    if (flags & F_RECEIVED) this.received++;
    if (outcome === ACCEPTED) this.accepted++;
    this.outcomes[outcome]!++;
  }
  counts(): Counts {
    return {
      records: this.records,
      feedback_received: this.received,
      accepted: this.accepted,
      acceptance_rate: this.received ? this.accepted / this.received : null,
      by_outcome: Object.fromEntries(OUTCOMES.map((o, i) => [o, this.outcomes[i]!])) as Record<Outcome, number>,
    };
  }
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}

const taskName = (code: number): string => (code === 0 ? 'unknown' : TASK_TYPES[code - 1]!);
const errorName = (code: number): string => (code === 0 ? 'unknown' : ERROR_TYPES[code - 1]!);
export const dayOf = (ms: number): string => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);

/** Bin index of v: integer arithmetic on micro-units so 0.2 / 0.02 lands in bin 10, not 9. */
function binOf(v: number, width: number): number {
  return Math.floor(Math.round(v * 1e6) / Math.round(width * 1e6));
}

export function analyze(ds: Dataset, sel: Uint8Array, opts: AnalysisOptions = {}): Analysis {
  const all = new Counter();
  const byTask = new Map<number, Counter>();
  const byDay = new Map<number, { all: Counter; task: Map<number, Counter> }>();
  const byValidator = new Map<number, Counter>();
  const failures = new Map<number, { count: number; sample: string | null }>();
  const failByDay = new Map<number, Map<number, number>>();
  const thresholds = new Map<number, number>();
  let submitted = 0, failed = 0, pre = 0, inferred = 0;
  let first = Infinity, last = -Infinity;

  ds.chunks.forEach((c, k) => {
    const off = ds.offsets[k]!;
    for (let i = 0; i < c.n; i++) {
      if (!sel[off + i]) continue;
      const o = c.outcome[i]!;
      const fl = c.flags[i]!;
      const ts = c.ts[i]!;
      all.add(o, fl);
      getOr(byTask, c.task[i]!, () => new Counter()).add(o, fl);
      const day = getOr(byDay, Math.floor(ts / DAY_MS), () => ({ all: new Counter(), task: new Map<number, Counter>() }));
      day.all.add(o, fl);
      getOr(day.task, c.task[i]!, () => new Counter()).add(o, fl);
      getOr(byValidator, c.validator[i]!, () => new Counter()).add(o, fl);
      if (!Number.isNaN(c.clipThr[i]!)) thresholds.set(c.clipThr[i]!, (thresholds.get(c.clipThr[i]!) ?? 0) + 1);
      if (fl & F_SUBMITTED) submitted++;
      if (fl & F_PRE_REJECTED) pre++;
      if (fl & F_INFERRED) inferred++;
      if (fl & F_FAILED) {
        failed++;
        const f = getOr(failures, c.errType[i]!, () => ({ count: 0, sample: null as string | null }));
        f.count++;
        if (f.sample === null && c.errMsg[i]! >= 0) f.sample = c.messages[c.errMsg[i]!]!;
        const d = getOr(failByDay, Math.floor(ts / DAY_MS), () => new Map<number, number>());
        d.set(c.errType[i]!, (d.get(c.errType[i]!) ?? 0) + 1);
      }
      if (ts < first) first = ts;
      if (ts > last) last = ts;
    }
  });

  const n = all.records;
  const taskRows = [...byTask.entries()].sort((a, b) => a[0] - b[0]).map(([t, c]) => ({ task_type: taskName(t), ...c.counts() }));
  const thresholdsSeen = [...thresholds.entries()].map(([value, records]) => ({ value, records })).sort((a, b) => b.records - a.records || a.value - b.value);
  const threshold = opts.clipThreshold ?? thresholdsSeen[0]?.value ?? null;
  const width = opts.clipBinWidth ?? 0.02;
  const bins = new Map<number, number>();
  let below = 0;
  const clipValues = valuesOf(ds, sel, { col: 'clip' });
  clipValues((v) => {
    const b = binOf(v, width);
    bins.set(b, (bins.get(b) ?? 0) + 1);
    if (threshold !== null && v < threshold) below++;
  });
  const dist = (pass: ValuePass): Dist => distributions(pass).get(0) ?? NO_VALUES;
  const clipScore = dist(clipValues);
  const score = dist(valuesOf(ds, sel, { col: 'score' }));
  const stageNames = ds.chunks.stageNames().sort((a, b) => (a === 'total_time' ? -1 : b === 'total_time' ? 1 : a.localeCompare(b)));
  const generationTime: Record<string, Dist> = {};
  for (const name of stageNames) {
    const d = dist(valuesOf(ds, sel, { stage: name }));
    if (d.n > 0) generationTime[name] = d;
  }
  const validatorScores = distributions(valuesOf(ds, sel, { col: 'score' }, { col: 'validator' }));
  const validatorDelays = distributions(valuesOf(ds, sel, { col: 'delay' }, { col: 'validator' }));
  const binKeys = [...bins.keys()].sort((a, b) => a - b);
  const binRows = [];
  if (binKeys.length > 0) for (let b = binKeys[0]!; b <= binKeys[binKeys.length - 1]!; b++) binRows.push({ from: +(b * width).toFixed(6), to: +((b + 1) * width).toFixed(6), count: bins.get(b) ?? 0 });

  return {
    summary: {
      ...all.counts(),
      by_task_type: taskRows,
      score,
      clip_score: clipScore,
      generation_time: generationTime,
      submitted,
      submission_rate: n ? submitted / n : null,
      failed,
      failure_rate: n ? failed / n : null,
      pre_submission_rejections: pre,
      inferred_attribution: inferred,
      first_record: n ? new Date(first).toISOString() : null,
      last_record: n ? new Date(last).toISOString() : null,
    },
    acceptance: {
      overall: all.counts(),
      by_task_type: taskRows,
      by_day: [...byDay.entries()].sort((a, b) => a[0] - b[0]).map(([d, v]) => ({
        day: dayOf(d * DAY_MS),
        ...v.all.counts(),
        by_task_type: Object.fromEntries([...v.task.entries()].sort((a, b) => a[0] - b[0]).map(([t, c]) => [taskName(t), c.counts()])),
      })),
    },
    failures: {
      failed,
      by_type: [...failures.entries()]
        .map(([t, f]) => ({ error_type: errorName(t), count: f.count, share: f.count / failed, sample_message: f.sample }))
        .sort((a, b) => b.count - a.count || a.error_type.localeCompare(b.error_type)),
      by_day: [...failByDay.entries()].sort((a, b) => a[0] - b[0]).map(([d, m]) => ({ day: dayOf(d * DAY_MS), by_type: Object.fromEntries([...m.entries()].map(([t, c]) => [errorName(t), c])) })),
    },
    clip_distribution: {
      n: clipScore.n,
      threshold,
      threshold_source: opts.clipThreshold !== undefined ? 'flag' : threshold !== null ? 'records' : null,
      thresholds_seen: thresholdsSeen,
      bin_width: width,
      bins: binRows,
      below_threshold: threshold === null ? null : below,
    },
    validators: [...byValidator.entries()]
      .sort((a, b) => (a[0] === -1 ? 1 : b[0] === -1 ? -1 : a[0] - b[0]))
      .map(([uid, c]) => ({ validator_uid: uid === -1 ? null : uid, ...c.counts(), score: validatorScores.get(uid) ?? NO_VALUES, feedback_delay_seconds: validatorDelays.get(uid) ?? NO_VALUES })),
  };
}

/** One selection per host (for --group-by host), hosts sorted by name. */
export function splitByHost(ds: Dataset, sel: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  ds.chunks.forEach((c, k) => {
    const off = ds.offsets[k]!;
    for (let i = 0; i < c.n; i++) {
      if (!sel[off + i]) continue;
      getOr(out, c.hosts[c.host[i]!]!, () => new Uint8Array(ds.n))[off + i] = 1;
    }
  });
  return new Map([...out.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}
