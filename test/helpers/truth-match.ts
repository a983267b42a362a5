/** Comparing records with the fake miner's ground truth: shared by the golden and end-to-end tests. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TruthLine } from '../fixtures/fake-miner/truth';
import { parseRecordLine, type GenerationRecord } from '../../src/schema';

/** The whole lines of the data file (a line being written has no newline yet: readers skip it). */
export function readRecords(dataDir: string): GenerationRecord[] {
  const text = fs.readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const p = parseRecordLine(l);
      if (!p.ok) throw new Error(p.error);
      return p.record;
    });
}

/** Latest revision per id, superseded ones dropped: what every reader keeps. */
export function latest(records: GenerationRecord[]): GenerationRecord[] {
  const byId = new Map<string, GenerationRecord>();
  for (const r of records) {
    const prev = byId.get(r.metadata.generation_id);
    if (!prev || r.provenance.revision > prev.provenance.revision) byId.set(r.metadata.generation_id, r);
  }
  const superseded = new Set([...byId.values()].flatMap((r) => r.provenance.supersedes));
  return [...byId.values()].filter((r) => !superseded.has(r.metadata.generation_id));
}

export const utcOf = (text: string, offsetMin: number) => new Date(Date.parse(`${text.replace(' ', 'T')}Z`) - offsetMin * 60000).toISOString();

export function inferred(r: GenerationRecord, event: string): boolean {
  return r.provenance.links.some((l) => l.event === event && l.link === 'inferred');
}

/**
 * Tasks whose feedback timeout could not have passed before the input ended (nothing was logged
 * long enough after their end): for them "interrupted" stands in for "no_feedback". The input ends
 * at `lastMs` when given (a header time read as UTC, like the truth's times here), else at the
 * truth's latest time.
 */
export function tailTasks(truth: TruthLine[], timeoutMs: number, lastMs?: number): Set<number> {
  const ms = (x: string | null) => (x ? Date.parse(`${x.replace(' ', 'T')}Z`) : 0);
  const last = lastMs ?? Math.max(...truth.flatMap((t) => Object.values(t.times).map(ms)));
  return new Set(truth.filter((t) => ms(t.times.generation_end ?? t.times.generating ?? t.times.received) + timeoutMs > last).map((t) => t.index));
}

export function expectFaithful(t: TruthLine, r: GenerationRecord, lastTasks: Set<number>): void {
  const where = `task ${t.index} (${t.outcome}, ${t.error_type}, score ${t.score}, feedback ${t.feedback_format}, ${JSON.stringify(t.times)}) -> ${r.outcome} ${JSON.stringify(r.provenance.links)} ${r.provenance.incomplete_reasons} ${r.generation.submission.submission_time} sources ${r.provenance.sources.map((s) => s.event).join(",")} rev ${r.provenance.revision} ${r.failure_analysis.error_type}`;
  expect({ where, type: r.task.task_type }).toEqual({ where, type: t.task_type });
  expect(r.task.prompt_length).toBe(t.prompt_length);
  if (t.image) {
    expect(r.task.base64_image_hash).toBe(`sha256:${t.image.sha256}`);
    expect(r.task.image_file_path).toBe(`images/${t.image.sha256}.${t.image.ext}`);
  } else expect(r.task.prompt).toBe(t.prompt);
  expect({ where, uid: r.metadata.validator_uid }).toEqual({ where, uid: t.validator_uid });
  // outcome: a task whose miner restarted is interrupted; no feedback at the very end of the input
  // is also "interrupted" for ingest (its end was not reached), with a reason
  let want: string = t.miner_restarted || t.crashed ? 'interrupted' : t.outcome;
  // a generation the logs show failed before the restart stays failed (the restart only cut off its feedback)
  const failedBeforeRestart =
    want === 'interrupted' && t.times.generation_end !== null && r.outcome === 'generation_failed' && r.failure_analysis.error_type !== 'miner_restarted';
  if (failedBeforeRestart) want = 'generation_failed';
  if (want === 'no_feedback' && r.outcome === 'interrupted' && lastTasks.has(t.index)) want = 'interrupted';
  // a restart while the feedback was still awaited, or the miner silent from before the deadline (it
  // may have been stopped while it waited): nothing in the logs says the feedback would not have come
  const cutOff = r.failure_analysis.error_type === 'miner_restarted' || r.provenance.incomplete_reasons.includes('miner_silent');
  if (want === 'no_feedback' && r.outcome === 'interrupted' && cutOff) want = 'interrupted';
  const ends = ['generation_completed', 'generation_failed', 'endpoint_unreachable', 'endpoint_timeout', 'client_error', 'exception', 'submit_failed'];
  // Where the logs left candidates, any assignment is accepted if the record says inferred: its
  // end (or an event that tied it to an endpoint) was a guess, or its end went to another guess.
  const endInferred =
    ends.some((ev) => inferred(r, ev)) ||
    r.provenance.incomplete_reasons.includes('submit_failure_ambiguous') ||
    (r.provenance.links.some((l) => l.link === 'inferred') && r.provenance.incomplete_reasons.includes('generation_end_not_seen'));
  if (!endInferred) {
    expect({ where, outcome: r.outcome }).toEqual({ where, outcome: want });
    // the worker's rejection line, when it is not asserted its, leaves the end's own error (the HTTP status)
    const rejectionUnasserted = t.error_type === 'pre_submission_rejection' && !r.provenance.links.some((l) => l.event === 'pre_submission_rejection' && l.link !== 'inferred');
    const wantError = rejectionUnasserted && r.failure_analysis.error_type === 'generation_http_error' ? 'generation_http_error' : t.error_type;
    if (want !== 'interrupted' && !failedBeforeRestart) expect({ where, error: r.failure_analysis.error_type }).toEqual({ where, error: wantError });
    if (t.generation_bytes !== null && want !== 'interrupted') expect({ where, bytes: r.generation.output.file_size_bytes }).toEqual({ where, bytes: t.generation_bytes });
  }
  if (t.score !== null && !t.miner_restarted) {
    expect({ where, received: r.validator_feedback.received }).toEqual({ where, received: true });
    expect(r.validator_feedback.score).toBe(t.score === 'failed' ? null : t.score);
    expect(r.validator_feedback.accepted).toBe(t.score === 'failed' ? null : t.score > 0);
    expect(r.generation.submission.submitted).toBe(true);
    if (t.detail) {
      expect(r.validator_feedback.average_score).toBe(t.detail.average_score);
      expect(r.validator_feedback.accepted_recent).toBe(t.detail.accepted_recent);
      expect(r.validator_feedback.accepted_window_hours).toBe(t.detail.accepted_window_hours);
      expect(r.validator_feedback.reward).toBe(t.detail.reward);
      expect(r.validator_feedback.duel_rating).toBe(t.detail.duel_rating);
    }
  }
  if (t.outcome === 'submit_failed' && !endInferred) expect(r.generation.submission.submitted).toBe(false);
  if (r.provenance.links.some((l) => l.link === 'inferred')) {
    for (const l of r.provenance.links) if (l.link === 'inferred') expect(l.candidates).toBeGreaterThan(1);
  }
}


/** What a test knows of the PLY files the fake workers wrote: path -> sha256 hex (read before the run dir goes). */
export type PlyHashes = Map<string, string>;

/**
 * The workers' PLYs in the records: each file linked to exactly one record, whose figures are that
 * file's (hash; vertex count from the truth). An asserted link (named, determined) is the file's own task; an inferred one
 * (two tasks generating on workers whose lines name neither) may be the other candidate's, and a task
 * that lost its file so says inferred somewhere. Accepted records keep their file in ply_files/,
 * verified by hash; no other is kept. Returns how many were kept and linked by an asserted link.
 */
export function expectPlysLinked(truth: TruthLine[], records: GenerationRecord[], hashes: PlyHashes, dataDir: string): { kept: number; exact: number } {
  const recordOf = (t: TruthLine) => records.find((x) => x.task.log_id === t.log_id && x.metadata.timestamp === utcOf(t.received_time_text!, t.utc_offset_minutes))!;
  const vertices = new Map(truth.filter((t) => t.ply_path).map((t) => [t.ply_path!, t.ply_vertices]));
  const linked = records.flatMap((r) => r.provenance.sources.filter((s) => s.event === 'ply_written').map((s) => s.file));
  expect([...linked].sort()).toEqual([...vertices.keys()].sort());
  let kept = 0;
  let exact = 0;
  for (const r of records) {
    const out = r.generation.output;
    const file = r.provenance.sources.find((s) => s.event === 'ply_written')?.file;
    const where = `record ${r.metadata.generation_id} (${r.outcome})`;
    if (!file) {
      expect({ where, hash: out.ply_file_hash, kept: out.ply_file_path }).toEqual({ where, hash: null, kept: null });
      continue;
    }
    const sha = hashes.get(file)!;
    expect({ where, n: out.num_gaussians, hash: out.ply_file_hash, error: out.ply_error }).toEqual({
      where,
      n: vertices.get(file),
      hash: `sha256:${sha}`,
      error: null,
    });
    expect(typeof out.gaussian_stats.opacity_mean).toBe('number');
    // an asserted link (named or determined) must be the right file
    if (r.provenance.links.find((l) => l.event === 'ply_written')!.link !== 'inferred') {
      exact++;
      expect({ where, file }).toEqual({ where, file: truth.find((t) => t.log_id === r.task.log_id && recordOf(t) === r)?.ply_path });
    }
    if (r.validator_feedback.accepted === true) {
      kept++;
      expect(out.ply_file_path).toBe(`ply_files/${r.metadata.generation_id}_${sha}.ply`);
      const copy = fs.readFileSync(path.join(dataDir, out.ply_file_path!));
      expect(createHash('sha256').update(copy).digest('hex')).toBe(sha);
    } else {
      expect({ where, kept: out.ply_file_path }).toEqual({ where, kept: null });
    }
  }
  for (const t of truth.filter((x) => x.ply_path)) {
    const r = recordOf(t);
    if (r.provenance.sources.some((s) => s.file === t.ply_path)) continue;
    expect({ task: t.index, inferred: r.provenance.links.some((l) => l.link === 'inferred') }).toEqual({ task: t.index, inferred: true });
  }
  const stored = fs.existsSync(path.join(dataDir, 'ply_files')) ? fs.readdirSync(path.join(dataDir, 'ply_files')) : [];
  expect(stored.filter((n) => n.endsWith('.ply'))).toHaveLength(kept);
  return { kept, exact };
}
