/**
 * Attribution accuracy: for each task of the fake miner's ground truth, whether its record got right
 * the fields that hang on lines naming no task ("Generation completed. Size: N", "Generation failed
 * with code: S", "Failed to submit results to [hotkey]", the workers' lines and files). Each field of
 * each task is one of:
 *   right     the record's value is the truth's;
 *   inferred  wrong, but the record says the relevant link was a guess (link 'inferred', or
 *             `submit_failure_ambiguous` among its incomplete reasons);
 *   asserted  wrong, and nothing in the record says so: the bad case.
 * Any link kind other than 'inferred' ('named', 'determined'; 'exact' in records before 0.2) is asserted.
 * Shared by bench/attribution.ts and the tests.
 */
import type { TruthLine } from '../fixtures/fake-miner/truth';
import type { GenerationRecord } from '../../src/schema';
import { GENERATION_END_EVENTS, GENERATION_FAILURE_TYPES as GENERATION_FAILURES } from '../../src/assemble';
import { latest, tailTasks, utcOf } from './truth-match';

export const ATTRIBUTION_FIELDS = ['end', 'size', 'failure', 'timing', 'submit', 'worker_time', 'output_file'] as const;
export type AttributionField = (typeof ATTRIBUTION_FIELDS)[number];

/** What each field compares (record path vs truth). */
export const FIELD_LABELS: Record<AttributionField, string> = {
  end: 'end type (completed or which failure)',
  size: 'size (file_size_bytes vs Size:)',
  failure: 'failure (failed + error_type)',
  timing: 'timing (total_time within 0.01 s)',
  submit: 'submit failure (submitted false iff submit_failed)',
  worker_time: "worker time (generation_time vs the worker's Generation took)",
  output_file: 'output file (linked PLY path)',
};

/** Events whose link decides a generation's end or its submission: the miner's lines that name no task. */
export const END_EVENTS: readonly string[] = [...GENERATION_END_EVENTS, 'submit_failed'];

/** Outcomes that only follow a completed generation. */
const AFTER_COMPLETED = new Set(['accepted', 'rejected', 'validation_failed', 'submit_failed', 'no_feedback']);

export type Verdict = 'right' | 'inferred' | 'asserted';

export interface FieldCounts {
  /** Tasks this field was compared on. */
  compared: number;
  right: number;
  /** Wrong, and the record marks the relevant link inferred. */
  wrongInferred: number;
  /** Wrong, and the record asserts it: nothing says it was a guess. */
  wrongAsserted: number;
}

export interface AttributionMiss {
  task: number;
  field: AttributionField;
  verdict: Exclude<Verdict, 'right'>;
  want: unknown;
  got: unknown;
  /** The record's outcome, links and incomplete reasons, for a look. */
  outcome: string;
  links: string;
  incomplete: string[];
}

export interface AttributionScore {
  /** Tasks of the truth. */
  tasks: number;
  /** Tasks compared: not skipped, with a record. */
  compared: number;
  skipped: {
    /** The miner crashed or restarted while the task was open: its end is not comparable. */
    interrupted: number;
    /** Its feedback timeout could not pass before the input ended (see tailTasks). */
    tail: number;
  };
  /** Truth tasks (index) with no record, and those with more than one. */
  missing: number[];
  duplicated: number[];
  /** Compared tasks whose record marks an end or submission link inferred. */
  markedInferred: number;
  /** Compared tasks whose record has any inferred link. */
  anyInferred: number;
  fields: Record<AttributionField, FieldCounts>;
  /** Every wrong field, for a look or a test message. */
  misses: AttributionMiss[];
}

export interface ScoreOptions {
  /** The collector's feedback timeout: tasks whose timeout could not pass before the input ended are skipped. */
  feedbackTimeoutMs: number;
  /**
   * Time of the last line the ingest read, counted as tailTasks counts (the local header time read as
   * UTC); default: the latest time of the truth.
   */
  logEndMs?: number;
  /** The workers' logs were read: compare the upstream worker's ` Generation took` figure. */
  workerLogs?: boolean;
  /** The workers' output directories were read: compare the linked PLY. */
  outputFiles?: boolean;
}

const inferredLink = (r: GenerationRecord, events: readonly string[]) =>
  r.provenance.links.some((l) => l.link === 'inferred' && events.includes(l.event));

/** The record says its end or its submission came from a guess. */
export function endMarkedInferred(r: GenerationRecord): boolean {
  return inferredLink(r, END_EVENTS) || r.provenance.incomplete_reasons.includes('submit_failure_ambiguous');
}

/** How the generation ended per the truth: 'completed' or its failure's error type. */
export function truthEnd(t: TruthLine): string {
  return t.error_type !== null && GENERATION_FAILURES.has(t.error_type) ? t.error_type : 'completed';
}

/** How the generation ended per the record: 'completed', a failure's error type, or 'not seen'. */
export function recordEnd(r: GenerationRecord): string {
  const e = r.failure_analysis.error_type;
  if (e !== null && GENERATION_FAILURES.has(e)) return e;
  if (r.outcome === 'generation_failed') return 'failed, kind unknown';
  const completed = r.provenance.links.some((l) => l.event === 'generation_completed') || AFTER_COMPLETED.has(r.outcome);
  return completed ? 'completed' : 'not seen';
}

const near = (a: unknown, b: number) => typeof a === 'number' && Math.abs(a - b) <= 0.01;

/** Scores the records of one ingest against the truth of its run (records: all revisions or the latest). */
export function scoreAttribution(truth: TruthLine[], allRecords: GenerationRecord[], opts: ScoreOptions): AttributionScore {
  const records = latest(allRecords);
  const fields = Object.fromEntries(ATTRIBUTION_FIELDS.map((f) => [f, { compared: 0, right: 0, wrongInferred: 0, wrongAsserted: 0 }])) as Record<
    AttributionField,
    FieldCounts
  >;
  const score: AttributionScore = {
    tasks: truth.length,
    compared: 0,
    skipped: { interrupted: 0, tail: 0 },
    missing: [],
    duplicated: [],
    markedInferred: 0,
    anyInferred: 0,
    fields,
    misses: [],
  };
  const tail = tailTasks(truth, opts.feedbackTimeoutMs, opts.logEndMs);
  const byKey = new Map<string, GenerationRecord[]>();
  for (const r of records) {
    const k = `${r.task.log_id}|${r.metadata.timestamp}`;
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  for (const t of truth) {
    if (t.miner_restarted || t.crashed) {
      score.skipped.interrupted++;
      continue;
    }
    if (tail.has(t.index)) {
      score.skipped.tail++;
      continue;
    }
    const matches = t.received_time_text === null ? [] : (byKey.get(`${t.log_id}|${utcOf(t.received_time_text, t.utc_offset_minutes)}`) ?? []);
    if (matches.length === 0) {
      score.missing.push(t.index);
      continue;
    }
    if (matches.length > 1) score.duplicated.push(t.index);
    const r = matches[0]!;
    score.compared++;
    const endInferred = endMarkedInferred(r);
    if (endInferred) score.markedInferred++;
    if (r.provenance.links.some((l) => l.link === 'inferred')) score.anyInferred++;
    const judge = (field: AttributionField, right: boolean, marked: boolean, want: unknown, got: unknown) => {
      const c = fields[field];
      c.compared++;
      if (right) c.right++;
      else {
        if (marked) c.wrongInferred++;
        else c.wrongAsserted++;
        score.misses.push({
          task: t.index,
          field,
          verdict: marked ? 'inferred' : 'asserted',
          want,
          got,
          outcome: r.outcome,
          links: r.provenance.links.map((l) => `${l.event}:${l.link}/${l.candidates}`).join(' '),
          incomplete: r.provenance.incomplete_reasons,
        });
      }
    };

    const wantEnd = truthEnd(t);
    const gotEnd = recordEnd(r);
    judge('end', gotEnd === wantEnd, endInferred, wantEnd, gotEnd);

    if (t.generation_bytes !== null) {
      const got = r.generation.output.file_size_bytes;
      judge('size', got === t.generation_bytes, endInferred, t.generation_bytes, got);
    }

    const fa = r.failure_analysis;
    const wantFailed = t.expected.failure_analysis.failed;
    // as in the golden tests: a miner restart while the feedback was still awaited makes a no-feedback
    // task interrupted (nothing in the logs says the feedback would not have come)
    const restartedWaiting = t.outcome === 'no_feedback' && r.outcome === 'interrupted' && fa.error_type === 'miner_restarted';
    const failureRight = restartedWaiting || (fa.failed === wantFailed && fa.error_type === t.error_type);
    judge('failure', failureRight, endInferred, `${wantFailed} ${t.error_type}`, `${fa.failed} ${fa.error_type}`);

    const wantTotal = t.expected.generation.timing.total_time;
    if (wantTotal !== null) {
      const got = r.generation.timing.total_time;
      judge('timing', near(got, wantTotal), endInferred, wantTotal, got);
    }

    const wantSubmitFailed = t.outcome === 'submit_failed';
    const gotSubmitFailed = r.generation.submission.submitted === false;
    judge('submit', gotSubmitFailed === wantSubmitFailed, endInferred, wantSubmitFailed, gotSubmitFailed);

    if (opts.workerLogs && t.upstream_worker_minutes) {
      const want = t.upstream_worker_minutes.generation * 60;
      const got = r.generation.timing.generation_time ?? null;
      judge('worker_time', near(got, want), endInferred || inferredLink(r, ['worker_metrics']), want, got);
    }

    if (opts.outputFiles && t.ply_path !== null) {
      const got = r.provenance.sources.find((s) => s.event === 'ply_written')?.file ?? null;
      judge('output_file', got === t.ply_path, endInferred || inferredLink(r, ['ply_written']) || r.provenance.incomplete_reasons.includes('output_file_ambiguous'), t.ply_path, got);
    }
  }
  return score;
}

/** Share of a field's compared tasks, in percent (0 when none was compared). */
export function percent(n: number, of: number): number {
  return of === 0 ? 0 : (100 * n) / of;
}
