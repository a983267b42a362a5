/**
 * `analyze --report FILE.html`: one self-contained page (no script, no network, no fonts fetched; a CSP
 * forbids loading anything). Each chart is an inline SVG that scales to its column, with a table of the
 * same figures beside it (below it under 1000 px), or a sentence saying why there is nothing to draw.
 * All record-derived text (hosts, error messages, data dir paths) is escaped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../query/analysis';
import type { CompetitionAnalysis } from '../query/competition';
import type { ScanStats } from '../query/dataset';
import type { Filter } from '../query/filter';
import { COLORS, H, PAD, UNIT_TICKS, bars, esc, innerW, legend, svg, yOf } from './chart';
import { fmt, pct } from './text';
import { filterInWords, when } from './words';

export interface ReportInput {
  analysis: Analysis;
  /** Competition mode's duels (null: no competition generations selected; the section is left out). */
  duels?: CompetitionAnalysis | null;
  groups: [string, Analysis][] | null;
  stats: ScanStats;
  selected: number;
  dataDirs: string[];
  filter: Filter;
  now: number;
}

/** The sentence shown instead of a chart with nothing to draw. */
export const EMPTY = {
  noRecords: 'no records in this selection',
  acceptance: (n: number): string => `none of these ${n} records has validator feedback received, so there is no acceptance rate to draw (it is accepted / feedback received)`,
  clip: 'no CLIP scores in these records (a stock worker logs none; see docs/rules.md)',
  validators: (n: number): string => `no validator scores in these ${n} records (validator_feedback.score is empty in all of them)`,
  failures: (n: number): string => `no failed generations in these ${n} records (failure_analysis.failed is false in all of them)`,
  timing: (n: number): string => `no generation times in these ${n} records (generation.timing has no stage time in any of them)`,
};

const num = (v: number | null): string => fmt(v);

/** A table of figures; `name` is its data-table attribute. Cells are escaped here. */
function table(name: string, caption: string, head: string[], rows: string[][]): string {
  // a column of words is aligned left, a column of figures right
  const words = head.map((_, i) => rows.some((r) => !/^(-|-?[\d.]+%?)$/.test(r[i] ?? '')));
  const cls = (i: number): string => (words[i] ? ' class="t"' : '');
  return `<div class="table-wrap"><table data-table="${name}"><caption>${esc(caption)}</caption><thead><tr>${head.map((h, i) => `<th scope="col"${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td${cls(i)}>${esc(c)}</td>`)).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

/** One report section: title, a line saying what is drawn, then the chart and its table(s) side by side. */
function section(name: string, title: string, note: string, chart: string, tables: string, empty: string | null): string {
  const body = empty !== null ? `<p class="empty" data-empty="${name}">${esc(empty)}</p>` : `<div class="pair"><figure>${chart}</figure><div class="tables">${tables}</div></div>`;
  return `<section data-section="${name}"><h2>${esc(title)}</h2>${note ? `<p class="note">${esc(note)}</p>` : ''}${body}</section>`;
}

function acceptanceSection(a: Analysis): string {
  const n = a.summary.records;
  const days = a.acceptance.by_day;
  const types = [...new Set(days.flatMap((d) => Object.keys(d.by_task_type)))].sort();
  const empty = n === 0 ? EMPTY.noRecords : a.acceptance.overall.feedback_received === 0 ? EMPTY.acceptance(n) : null;
  const marks: string[] = [];
  types.forEach((t, k) => {
    const pts: string[] = [];
    days.forEach((d, i) => {
      const c = d.by_task_type[t];
      if (!c || c.acceptance_rate === null) return; // no feedback that day: nothing to draw
      const x = PAD.l + (innerW * (i + 0.5)) / days.length;
      const y = yOf(c.acceptance_rate, 1);
      pts.push(`${x},${y}`);
      marks.push(`<circle class="mark" cx="${x}" cy="${y}" r="4" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${d.day} ${t}: ${pct(c.acceptance_rate)} (${c.accepted}/${c.feedback_received})`)}</title></circle>`);
    });
    if (pts.length > 1) marks.unshift(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5"/>`);
  });
  const chart = legend(types) + svg({ chart: 'acceptance', label: 'acceptance rate per day by task type', ticks: UNIT_TICKS, tickLabel: (v) => `${v * 100}%`, xLabels: days.map((d) => d.day.slice(5)), body: marks.join('') });
  const rows = days.flatMap((d) => types.filter((t) => d.by_task_type[t]).map((t) => {
    const c = d.by_task_type[t]!;
    return [d.day, t, String(c.accepted), String(c.feedback_received), pct(c.acceptance_rate)];
  }));
  const o = a.acceptance.overall;
  return section('acceptance', 'Acceptance rate per day, by task type', `accepted / records with validator feedback received, per UTC day; overall ${pct(o.acceptance_rate)} (${o.accepted} / ${o.feedback_received})`, chart,
    table('acceptance', 'Acceptance per day and task type', ['day', 'task type', 'accepted', 'feedback received', 'acceptance rate'], rows), empty);
}

function clipSection(a: Analysis): string {
  const c = a.clip_distribution;
  const empty = a.summary.records === 0 ? EMPTY.noRecords : c.n === 0 ? EMPTY.clip : null;
  let overlay: ((top: number) => string) | undefined;
  if (c.threshold !== null && c.bins.length > 0) {
    const lo = c.bins[0]!.from;
    const hi = c.bins[c.bins.length - 1]!.to;
    if (c.threshold >= lo && c.threshold <= hi) {
      const x = PAD.l + (innerW * (c.threshold - lo)) / (hi - lo);
      overlay = () => `<line class="threshold" x1="${x}" x2="${x}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#e53e3e" stroke-dasharray="4 3" stroke-width="2"><title>threshold ${c.threshold}</title></line>`;
    }
  }
  const chart = bars({ chart: 'clip', label: 'CLIP score histogram', groups: c.bins.map((b) => b.from.toFixed(2)), series: ['records'], value: (g) => c.bins[g]!.count, integer: true, valueLabel: (v) => `${v} records`, stacked: false, overlay });
  const src = c.threshold_source === 'flag' ? '--clip-threshold' : 'the most common miner_config.clip_threshold';
  const thr = c.threshold === null ? 'no threshold known' : `threshold ${c.threshold} (${src}, dashed red line), ${c.below_threshold ?? 0} scores below it`;
  const seen = c.thresholds_seen.length > 1 ? `; thresholds in the records: ${c.thresholds_seen.map((t) => `${t.value} (${t.records})`).join(', ')}` : '';
  return section('clip', 'CLIP score histogram', `${c.n} scores in bins of ${c.bin_width} ([from, to)); ${thr}${seen}`, chart,
    table('clip', 'Records per CLIP score bin', ['from', 'to', 'records'], c.bins.map((b) => [b.from.toFixed(2), b.to.toFixed(2), String(b.count)])), empty);
}

function validatorSection(a: Analysis): string {
  const rows = a.validators.filter((v) => v.score.n > 0);
  const none = a.validators.filter((v) => v.score.n === 0);
  const empty = a.summary.records === 0 ? EMPTY.noRecords : rows.length === 0 ? EMPTY.validators(a.summary.records) : null;
  const gw = innerW / Math.max(1, rows.length);
  const uid = (u: number | null): string => (u === null ? 'unknown' : String(u));
  const marks = rows.map((v, i) => {
    const x = PAD.l + gw * (i + 0.5);
    const s = v.score;
    const y = (t: number | null): number => yOf(t!, 1);
    return `<g class="mark"><title>${esc(`validator ${uid(v.validator_uid)}: n ${s.n}, min ${fmt(s.min)}, p50 ${fmt(s.p50)}, p90 ${fmt(s.p90)}, mean ${fmt(s.mean)}, max ${fmt(s.max)}`)}</title><line x1="${x}" x2="${x}" y1="${y(s.max)}" y2="${y(s.min)}" stroke="#4a5568"/><rect x="${x - 10}" y="${y(s.p90)}" width="20" height="${Math.max(1, y(s.p50) - y(s.p90))}" fill="${COLORS[0]}"/><circle cx="${x}" cy="${y(s.mean)}" r="3" fill="#fff" stroke="#000"/></g>`;
  });
  const chart = svg({ chart: 'validators', label: 'validator score distribution per validator', ticks: UNIT_TICKS, tickLabel: (v) => String(v), xLabels: rows.map((v) => uid(v.validator_uid)), body: marks.join('') });
  const noScore = none.length ? `; no score from: ${none.map((v) => `${uid(v.validator_uid)} (${v.records} records)`).join(', ')}` : '';
  return section('validators', 'Validator score per validator', `line: min to max, box: p50 to p90, dot: mean${noScore}`, chart,
    table('validators', 'Validator scores', ['validator', 'scores', 'min', 'p50', 'p90', 'mean', 'max'], rows.map((v) => [uid(v.validator_uid), String(v.score.n), num(v.score.min), num(v.score.p50), num(v.score.p90), num(v.score.mean), num(v.score.max)])), empty);
}

function failureSection(a: Analysis): string {
  const f = a.failures;
  const days = f.by_day;
  const types = f.by_type.map((t) => t.error_type);
  const empty = a.summary.records === 0 ? EMPTY.noRecords : f.failed === 0 ? EMPTY.failures(a.summary.records) : null;
  const chart = legend(types) + bars({ chart: 'failures', label: 'failures by type per day', groups: days.map((d) => d.day.slice(5)), series: types, value: (g, s) => days[g]!.by_type[types[s]!] ?? 0, integer: true, valueLabel: (v) => `${v} failures`, stacked: true });
  const byDay = days.flatMap((d) => types.filter((t) => d.by_type[t]).map((t) => [d.day, t, String(d.by_type[t])]));
  const tables =
    table('failure-types', 'Failures by error type (share of all failures)', ['error type', 'failures', 'share', 'sample message'], f.by_type.map((t) => [t.error_type, String(t.count), pct(t.share), t.sample_message ?? '-'])) +
    table('failures', 'Failures per day and error type', ['day', 'error type', 'failures'], byDay);
  return section('failures', 'Failures by type per day', `${f.failed} of ${a.summary.records} records failed (${pct(a.summary.failure_rate)}); UTC days`, chart, tables, empty);
}

function timingSection(a: Analysis): string {
  const stages = Object.entries(a.summary.generation_time).filter(([, d]) => d.n > 0);
  const ps = ['p50', 'p90', 'p99'] as const;
  const empty = a.summary.records === 0 ? EMPTY.noRecords : stages.length === 0 ? EMPTY.timing(a.summary.records) : null;
  const names = stages.map(([k]) => k.replace(/_time$/, ''));
  const chart = legend([...ps]) + bars({ chart: 'timing', label: 'generation time percentiles by stage, seconds', groups: names, series: [...ps], value: (g, s) => stages[g]![1][ps[s]!] ?? 0, integer: false, valueLabel: (v) => `${fmt(v)} s`, stacked: false });
  return section('timing', 'Generation time by stage (seconds)', 'p50, p90 and p99 of each stage, over the records that logged it', chart,
    table('timing', 'Generation time percentiles (s)', ['stage', 'records', 'p50', 'p90', 'p99', 'max'], stages.map(([k, d]) => [k, String(d.n), num(d.p50), num(d.p90), num(d.p99), num(d.max)])), empty);
}

/** Competition mode: won, drawn and lost duels per round (stacked), the judges' texts on lost prompts. */
function duelSection(d: CompetitionAnalysis): string {
  const rounds = d.by_round;
  const label = (r: (typeof rounds)[number]): string => `${r.competition} ${r.round ?? '?'}`;
  const series = ['won', 'draw', 'lost', 'failed'] as const;
  const value = (g: number, s: number): number => {
    const r = rounds[g]!;
    return [r.won, r.draw, r.lost, r.generation_failed][s]!;
  };
  const chart = legend([...series]) + bars({ chart: 'duels', label: 'duels per round: won, drawn, lost; failed generations', groups: rounds.map(label), series: [...series], value, integer: true, valueLabel: (v) => `${v} prompts`, stacked: true });
  const tables =
    table('duels', 'Duels per round (win rate = won / judged)', ['round', 'generations', 'judged', 'won', 'draw', 'lost', 'win rate', 'not downloaded', 'failed'], rounds.map((r) => [label(r), String(r.generations), String(r.judged), String(r.won), String(r.draw), String(r.lost), pct(r.win_rate), String(r.not_downloaded), String(r.generation_failed)])) +
    table('lost-issues', 'What the judges said of lost prompts', ['count', 'share', 'issues'], d.lost_issues.map((x) => [String(x.count), pct(x.share), x.issues]));
  return section('duels', 'Competition duels per round', `${d.won} won of ${d.judged} judged (${pct(d.win_rate)}); ${d.not_downloaded} not downloaded, ${d.generation_failed} failed at the service`, chart, tables, null);
}

function hostSection(groups: [string, Analysis][]): string {
  const row = (name: string, f: (a: Analysis) => string): string[] => [name, ...groups.map(([, a]) => f(a))];
  const rows = [
    row('records', (a) => String(a.summary.records)),
    row('feedback received', (a) => String(a.summary.feedback_received)),
    row('accepted', (a) => String(a.summary.accepted)),
    row('acceptance rate', (a) => pct(a.summary.acceptance_rate)),
    row('failure rate', (a) => pct(a.summary.failure_rate)),
    row('score mean', (a) => fmt(a.summary.score.mean)),
    row('CLIP p50', (a) => fmt(a.summary.clip_score.p50)),
    row('total_time p50 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p50 ?? null)),
    row('total_time p90 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p90 ?? null)),
  ];
  const head = `<tr><th scope="col"></th>${groups.map(([h]) => `<th scope="col" class="host">${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr><th scope="row">${esc(r[0]!)}</th>${r.slice(1).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<section data-section="hosts"><h2>Hosts side by side</h2><div class="table-wrap"><table data-table="hosts"><thead>${head}</thead><tbody>${body}</tbody></table></div></section>`;
}

const CSS = `*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:16px;color:#1a202c;background:#f7fafc}
main{max-width:1600px;margin:0 auto}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:0 0 2px}
header p{margin:4px 0}.filters{font-size:16px}.filters b{font-weight:600}
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:12px 14px;margin:16px 0}
.note{margin:0 0 8px;color:#4a5568;font-size:13px}
.empty{margin:8px 0;padding:14px;border:1px dashed #cbd5e0;border-radius:4px;color:#4a5568;background:#f7fafc}
.pair{display:grid;grid-template-columns:minmax(0,1fr);gap:12px 28px;align-items:start}
@media (min-width:1000px){.pair{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}.tables{max-height:520px;overflow:auto}}
figure{margin:0;min-width:0}
svg{display:block;width:100%;height:auto}
svg text{font-size:12px;fill:#4a5568}
.legend{font-size:13px;margin-bottom:4px}.key{white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.table-wrap{max-width:100%;overflow-x:auto;margin-bottom:10px}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:2px 0 4px}
td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #e2e8f0;vertical-align:top}
th[scope=col]{background:#edf2f7}tbody th{text-align:left;font-weight:normal;white-space:nowrap}
.t{text-align:left}td,tbody th{white-space:nowrap}td.t:last-child{white-space:normal;overflow-wrap:anywhere;min-width:14em}`;

export function renderHtmlReport(input: ReportInput): string {
  const { analysis: a, stats: s } = input;
  const corrupt = s.firstCorrupt ? ` (first at ${s.firstCorrupt.file}:${s.firstCorrupt.line})` : '';
  const notRecord = s.firstNotRecord ? ` (first at ${s.firstNotRecord.file}:${s.firstNotRecord.line}, missing ${s.firstNotRecord.missing})` : '';
  const spec = s.specRecords ? ` (${s.specRecords} in the spec's schema, outcome derived)` : '';
  const sm = a.summary;
  const span = sm.first_record && sm.last_record ? ` from ${when(Date.parse(sm.first_record))} to ${when(Date.parse(sm.last_record))}` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>data-collector report</title><style>${CSS}</style></head><body><main>
<header><h1>Generations: ${input.selected} selected</h1>${span ? `<p>Records${esc(span)}.</p>` : ''}
<p class="filters" data-filters>Selection: <b>${esc(filterInWords(input.filter))}</b></p>
<p>Acceptance rate ${pct(sm.acceptance_rate)} (${sm.accepted} accepted / ${sm.feedback_received} with validator feedback received); ${sm.failed} failed (${pct(sm.failure_rate)}); ${sm.submitted} submitted.</p>
<p class="note">Data dirs: ${input.dataDirs.map(esc).join(', ')}. Read ${s.lines} lines in ${s.files} files: ${s.records} records${esc(spec)}, ${s.kept} generations counted (dropped ${s.olderRevisions} older revisions, ${s.superseded} superseded, ${s.duplicates} duplicate copies). Corrupt lines skipped: ${s.corrupt}${esc(corrupt)}. Not-a-record lines skipped: ${s.notRecord}${esc(notRecord)}. Made ${esc(when(input.now))}.</p></header>
${input.groups ? hostSection(input.groups) : ''}
${input.duels ? duelSection(input.duels) : ''}${acceptanceSection(a)}${clipSection(a)}${validatorSection(a)}${failureSection(a)}${timingSection(a)}
</main></body></html>
`;
}

export function writeHtmlReport(file: string, input: ReportInput): void {
  const tmp = `${file}.tmp`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, renderHtmlReport(input));
  fs.renameSync(tmp, file);
}
