/** Terminal rendering of the analysis: aligned tables, and a bar histogram for CLIP scores. */
import type { Analysis, Counts, Dist } from '../query/analysis';
import type { ScanStats } from '../query/dataset';
import type { CompetitionAnalysis, DuelCounts } from '../query/competition';
import { table } from '../cli/format';


export const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);
export const fmt = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3).replace(/\.?0+$/, ''));
const int = (n: number): string => n.toLocaleString('en-US');

const distCells = (d: Dist): string[] => [int(d.n), fmt(d.mean), fmt(d.p50), fmt(d.p90), fmt(d.p99), fmt(d.min), fmt(d.max)];
const DIST_HEAD = ['n', 'mean', 'p50', 'p90', 'p99', 'min', 'max'];
const countCells = (c: Counts): string[] => [int(c.records), int(c.feedback_received), int(c.accepted), pct(c.acceptance_rate)];
const COUNT_HEAD = ['records', 'feedback', 'accepted', 'acceptance'];
const RATE_NOTE = 'acceptance = accepted / records with validator feedback received\n';

export function renderSummary(a: Analysis): string {
  const s = a.summary;
  const out = ['Summary\n'];
  out.push(
    table([
      ['', 'value'],
      ['records', int(s.records)],
      ['feedback received', int(s.feedback_received)],
      ['accepted', int(s.accepted)],
      ['acceptance rate', pct(s.acceptance_rate)],
      ['submitted', `${int(s.submitted)} (${pct(s.submission_rate)})`],
      ['failed', `${int(s.failed)} (${pct(s.failure_rate)})`],
      ['pre-submission rejections', int(s.pre_submission_rejections)],
      ['inferred attribution', int(s.inferred_attribution)],
      ['first record', s.first_record ?? '-'],
      ['last record', s.last_record ?? '-'],
    ]),
  );
  out.push(RATE_NOTE, '\nBy outcome\n', table([['outcome', 'records'], ...Object.entries(s.by_outcome).filter(([, n]) => n > 0).map(([o, n]) => [o, int(n)])]));
  out.push('\nBy task type\n', table([['task type', ...COUNT_HEAD], ...s.by_task_type.map((t) => [t.task_type, ...countCells(t)])]));
  out.push('\nScores\n', table([['', ...DIST_HEAD], ['validator score', ...distCells(s.score)], ['clip score', ...distCells(s.clip_score)]]));
  out.push('\nGeneration time (s)\n', table([['stage', ...DIST_HEAD], ...Object.entries(s.generation_time).map(([k, d]) => [k, ...distCells(d)])]));
  return out.join('');
}

export function renderAcceptance(a: Analysis): string {
  const c = a.acceptance;
  return [
    'Acceptance rate\n',
    RATE_NOTE,
    table([['', ...COUNT_HEAD], ['all', ...countCells(c.overall)], ...c.by_task_type.map((t) => [t.task_type, ...countCells(t)])]),
    '\nBy day (UTC)\n',
    table([['day', ...COUNT_HEAD], ...c.by_day.map((d) => [d.day, ...countCells(d)])]),
  ].join('');
}

export function renderFailures(a: Analysis): string {
  const f = a.failures;
  const clip = (m: string | null): string => (m === null ? '-' : m.length > 60 ? `${m.slice(0, 57)}...` : m);
  return [
    `Failures: ${int(f.failed)} of ${int(a.summary.records)} records (${pct(a.summary.failure_rate)})\n`,
    table([['error type', 'count', 'share', 'sample message'], ...f.by_type.map((r) => [r.error_type, int(r.count), pct(r.share), clip(r.sample_message)])]),
  ].join('');
}

export function renderClip(a: Analysis, width = 40): string {
  const c = a.clip_distribution;
  const max = Math.max(1, ...c.bins.map((b) => b.count));
  const src = c.threshold_source === 'flag' ? '--clip-threshold' : 'miner_config.clip_threshold';
  const out = [`CLIP score distribution: ${int(c.n)} records, bins of ${c.bin_width}\n`];
  if (c.threshold !== null) {
    out.push(`threshold ${c.threshold} (${src}); below it: ${int(c.below_threshold ?? 0)}\n`);
    if (c.thresholds_seen.length > 1) out.push(`thresholds in the records: ${c.thresholds_seen.map((t) => `${t.value} (${int(t.records)})`).join(', ')}\n`);
  }
  let marked = false;
  for (const b of c.bins) {
    // the threshold line is drawn above the first bin that starts at or past it
    if (c.threshold !== null && !marked && b.from >= c.threshold - 1e-9) {
      out.push(`${'-'.repeat(13)} threshold ${c.threshold} ${'-'.repeat(width - 10)}\n`);
      marked = true;
    }
    const inside = c.threshold !== null && !marked && b.to > c.threshold + 1e-9 ? ' <- threshold inside' : '';
    const bar = '#'.repeat(Math.round((b.count / max) * width));
    out.push(`${b.from.toFixed(2)}-${b.to.toFixed(2)} |${bar.padEnd(width)}| ${int(b.count)}${inside}\n`);
    if (inside) marked = true;
  }
  return out.join('');
}

export function renderValidators(a: Analysis, uid: number | null): string {
  const rows = uid === null ? a.validators : a.validators.filter((v) => v.validator_uid === uid);
  if (uid !== null) {
    const v = rows[0];
    if (!v) return `Validator ${uid}: no records\n`;
    return [
      `Validator ${uid}\n`,
      RATE_NOTE,
      table([['', ...COUNT_HEAD], ['all', ...countCells(v)]]),
      '\n',
      table([['', ...DIST_HEAD], ['score', ...distCells(v.score)], ['feedback delay (s)', ...distCells(v.feedback_delay_seconds)]]),
    ].join('');
  }
  return [
    'Validators\n',
    RATE_NOTE,
    table([
      ['validator', ...COUNT_HEAD, 'score mean', 'score p50', 'delay p50 (s)', 'delay p90 (s)'],
      ...rows.map((v) => [v.validator_uid === null ? 'unknown' : String(v.validator_uid), ...countCells(v), fmt(v.score.mean), fmt(v.score.p50), fmt(v.feedback_delay_seconds.p50), fmt(v.feedback_delay_seconds.p90)]),
    ]),
  ].join('');
}

/** --group-by host: the key figures of each host side by side. */
export function renderGroups(groups: [string, Analysis][]): string {
  const row = (name: string, f: (a: Analysis) => string): string[] => [name, ...groups.map(([, a]) => f(a))];
  return [
    'By host\n',
    table([
      ['', ...groups.map(([h]) => h)],
      row('records', (a) => int(a.summary.records)),
      row('feedback received', (a) => int(a.summary.feedback_received)),
      row('accepted', (a) => int(a.summary.accepted)),
      row('acceptance rate', (a) => pct(a.summary.acceptance_rate)),
      row('failure rate', (a) => pct(a.summary.failure_rate)),
      row('score mean', (a) => fmt(a.summary.score.mean)),
      row('clip p50', (a) => fmt(a.summary.clip_score.p50)),
      row('total_time p50 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p50 ?? null)),
      row('total_time p90 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p90 ?? null)),
      row('first record', (a) => a.summary.first_record ?? '-'),
      row('last record', (a) => a.summary.last_record ?? '-'),
    ]),
    RATE_NOTE,
  ].join('');
}

/** What the scan could not count, one line each: corrupt (not JSON) and not-a-record (JSON, neither shape). */
export function renderSkipped(s: ScanStats): string {
  const first = s.firstCorrupt ? ` (first at ${s.firstCorrupt.file}:${s.firstCorrupt.line})` : '';
  const nr = s.firstNotRecord ? ` (first at ${s.firstNotRecord.file}:${s.firstNotRecord.line}, missing ${s.firstNotRecord.missing})` : '';
  return (
    `Corrupt lines skipped: ${int(s.corrupt)}${first}\n` +
    `Not-a-record lines skipped (JSON, but no generation record in our schema or the spec's): ${int(s.notRecord)}${nr}\n`
  );
}

export function renderScanFooter(s: ScanStats, selected: number): string {
  const spec = s.specRecords > 0 ? ` (${int(s.specRecords)} of them in the spec's schema, outcome derived: see data/README.md)` : '';
  return (
    `\nRead ${int(s.lines)} lines in ${s.files} files: ${int(s.records)} records${spec}, ${int(s.kept)} generations counted ` +
    `(dropped: ${int(s.olderRevisions)} older revisions, ${int(s.superseded)} superseded, ${int(s.duplicates)} duplicate copies); ` +
    `${int(selected)} selected by the filters.\n${renderSkipped(s)}`
  );
}

const duelCells = (c: DuelCounts): string[] => [int(c.generations), int(c.judged), int(c.won), int(c.draw), int(c.lost), pct(c.win_rate), int(c.not_downloaded), int(c.generation_failed)];
const DUEL_HEAD = ['generations', 'judged', 'won', 'draw', 'lost', 'win rate', 'not downloaded', 'failed'];

/** Competition mode: duels per round and per day, and the judges' most common texts on lost prompts. */
export function renderDuels(c: CompetitionAnalysis | null): string {
  if (!c) return 'Duels\nno competition generations in the selection\n';
  const clip = (t: string): string => (t.length > 90 ? `${t.slice(0, 87)}...` : t);
  return [
    'Duels (competition mode)\n',
    'win rate = won / judged (a draw is not a win)\n',
    table([['competition', 'round', ...DUEL_HEAD], ['all', '', ...duelCells(c)], ...c.by_round.map((r) => [r.competition, r.round === null ? '?' : String(r.round), ...duelCells(r)])]),
    '\nBy day of generation (UTC)\n',
    table([['day', ...DUEL_HEAD], ...c.by_day.map((d) => [d.day, ...duelCells(d)])]),
    c.lost_issues.length ? '\nWhat the judges said of lost prompts\n' : '',
    c.lost_issues.length ? table([['count', 'share', 'issues'], ...c.lost_issues.map((x) => [int(x.count), pct(x.share), clip(x.issues)])]) : '',
  ].join('');
}
