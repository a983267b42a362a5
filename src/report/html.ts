/**
 * `analyze --report FILE.html`: one self-contained page. Charts are SVG drawn here (no script, no
 * network, no fonts fetched); each drawn data mark carries class "mark" inside an <svg data-chart=...>,
 * so a test can count what is on screen.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../query/analysis';
import type { ScanStats } from '../query/dataset';
import type { Filter } from '../query/filter';
import { fmt, pct } from './text';

export interface ReportInput {
  analysis: Analysis;
  groups: [string, Analysis][] | null;
  stats: ScanStats;
  selected: number;
  dataDirs: string[];
  filter: Filter;
  now: number;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const W = 640;
const H = 220;
const PAD = { l: 48, r: 12, t: 12, b: 36 };
const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#e53e3e', '#319795', '#b7791f', '#d53f8c', '#4a5568'];

function frame(chart: string, title: string, body: string, yMax: number, yLabel: (v: number) => string, xLabels: string[], legend: string[] = []): string {
  const ih = H - PAD.t - PAD.b;
  const ticks = [0, 0.5, 1].map((f) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${PAD.t + ih * (1 - f)}" y2="${PAD.t + ih * (1 - f)}" stroke="#ddd"/><text x="${PAD.l - 4}" y="${PAD.t + ih * (1 - f) + 4}" text-anchor="end">${esc(yLabel(yMax * f))}</text>`);
  const step = Math.max(1, Math.ceil(xLabels.length / 8));
  const iw = W - PAD.l - PAD.r;
  const xs = xLabels.map((l, i) => (i % step === 0 ? `<text x="${PAD.l + (iw * (i + 0.5)) / xLabels.length}" y="${H - PAD.b + 16}" text-anchor="middle">${esc(l)}</text>` : ''));
  const leg = legend.map((l, i) => `<span class="key"><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(l)}</span>`).join(' ');
  return `<section><h2>${esc(title)}</h2><div class="legend">${leg}</div><svg data-chart="${chart}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${ticks.join('')}${xs.join('')}${body}</svg></section>`;
}

function acceptanceChart(a: Analysis): string {
  const days = a.acceptance.by_day;
  const types = [...new Set(days.flatMap((d) => Object.keys(d.by_task_type)))].sort();
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const marks: string[] = [];
  types.forEach((t, k) => {
    const pts: string[] = [];
    days.forEach((d, i) => {
      const c = d.by_task_type[t];
      if (!c || c.acceptance_rate === null) return; // no feedback that day: nothing to draw
      const x = PAD.l + (iw * (i + 0.5)) / days.length;
      const y = PAD.t + ih * (1 - c.acceptance_rate);
      pts.push(`${x},${y}`);
      marks.push(`<circle class="mark" cx="${x}" cy="${y}" r="4" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${d.day} ${t}: ${pct(c.acceptance_rate)} (${c.accepted}/${c.feedback_received})`)}</title></circle>`);
    });
    if (pts.length > 1) marks.unshift(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5"/>`);
  });
  return frame('acceptance', 'Acceptance rate per day (accepted / feedback received), by task type', marks.join(''), 1, (v) => `${Math.round(v * 100)}%`, days.map((d) => d.day.slice(5)), types);
}

function bars(chart: string, title: string, groups: string[], series: string[], value: (g: number, s: number) => number, label: (v: number) => string, stacked: boolean, overlay?: (max: number) => string): string {
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  let max = 0;
  for (let g = 0; g < groups.length; g++) {
    let sum = 0;
    for (let s = 0; s < series.length; s++) {
      sum = stacked ? sum + value(g, s) : Math.max(sum, value(g, s));
    }
    max = Math.max(max, sum);
  }
  max = max || 1;
  const gw = iw / Math.max(1, groups.length);
  const out: string[] = [];
  for (let g = 0; g < groups.length; g++) {
    let base = 0;
    for (let s = 0; s < series.length; s++) {
      const v = value(g, s);
      if (!(v > 0)) continue; // nothing to draw
      const h = (ih * v) / max;
      const bw = stacked ? gw * 0.8 : (gw * 0.8) / series.length;
      const x = PAD.l + g * gw + gw * 0.1 + (stacked ? 0 : s * bw);
      const y = PAD.t + ih - h - (stacked ? (ih * base) / max : 0);
      if (stacked) base += v;
      out.push(`<rect class="mark" x="${x}" y="${y}" width="${Math.max(1, bw - 1)}" height="${h}" fill="${COLORS[s % COLORS.length]}"><title>${esc(`${groups[g]} ${series[s]}: ${label(v)}`)}</title></rect>`);
    }
  }
  return frame(chart, title, out.join('') + (overlay ? overlay(max) : ''), max, label, groups, series.length > 1 ? series : []);
}

function clipChart(a: Analysis): string {
  const c = a.clip_distribution;
  const iw = W - PAD.l - PAD.r;
  let overlay: (() => string) | undefined;
  if (c.threshold !== null && c.bins.length > 0) {
    const lo = c.bins[0]!.from;
    const hi = c.bins[c.bins.length - 1]!.to;
    const x = PAD.l + (iw * (c.threshold - lo)) / (hi - lo);
    overlay = () => `<line class="threshold" x1="${x}" x2="${x}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#e53e3e" stroke-dasharray="4 3" stroke-width="2"><title>threshold ${c.threshold}</title></line>`;
  }
  return bars('clip', `CLIP score histogram (threshold ${c.threshold ?? 'unknown'}, ${c.below_threshold ?? 0} below)`, c.bins.map((b) => b.from.toFixed(2)), ['records'], (g) => c.bins[g]!.count, (v) => String(Math.round(v)), false, overlay);
}

function validatorChart(a: Analysis): string {
  const rows = a.validators.filter((v) => v.score.n > 0);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const y = (v: number): number => PAD.t + ih * (1 - v);
  const gw = iw / Math.max(1, rows.length);
  const marks = rows.map((v, i) => {
    const x = PAD.l + gw * (i + 0.5);
    const s = v.score;
    return `<g class="mark"><title>${esc(`validator ${v.validator_uid}: n ${s.n}, min ${fmt(s.min)}, p50 ${fmt(s.p50)}, p90 ${fmt(s.p90)}, max ${fmt(s.max)}`)}</title><line x1="${x}" x2="${x}" y1="${y(s.max!)}" y2="${y(s.min!)}" stroke="#4a5568"/><rect x="${x - 10}" y="${y(s.p90!)}" width="20" height="${Math.max(1, y(s.p50!) - y(s.p90!))}" fill="${COLORS[0]}"/><circle cx="${x}" cy="${y(s.mean!)}" r="3" fill="#fff" stroke="#000"/></g>`;
  });
  return frame('validators', 'Score distribution per validator (line: min-max, box: p50-p90, dot: mean)', marks.join(''), 1, (v) => v.toFixed(1), rows.map((v) => String(v.validator_uid)));
}

function failureChart(a: Analysis): string {
  const days = a.failures.by_day;
  const types = a.failures.by_type.map((t) => t.error_type);
  return bars('failures', 'Failures by type per day', days.map((d) => d.day.slice(5)), types, (g, s) => days[g]!.by_type[types[s]!] ?? 0, (v) => String(Math.round(v)), true);
}

function timeChart(a: Analysis): string {
  const stages = Object.entries(a.summary.generation_time);
  const ps = ['p50', 'p90', 'p99'] as const;
  return bars('timing', 'Generation time percentiles (s) by stage', stages.map(([k]) => k.replace(/_time$/, '')), [...ps], (g, s) => stages[g]![1][ps[s]!] ?? 0, (v) => fmt(v), false);
}

function hostTable(groups: [string, Analysis][]): string {
  const row = (name: string, f: (a: Analysis) => string): string => `<tr><th>${esc(name)}</th>${groups.map(([, a]) => `<td>${esc(f(a))}</td>`).join('')}</tr>`;
  return `<section><h2>Hosts side by side</h2><table data-table="hosts"><tr><th></th>${groups.map(([h]) => `<th class="host">${esc(h)}</th>`).join('')}</tr>${[
    row('records', (a) => String(a.summary.records)),
    row('acceptance rate', (a) => pct(a.summary.acceptance_rate)),
    row('failure rate', (a) => pct(a.summary.failure_rate)),
    row('score mean', (a) => fmt(a.summary.score.mean)),
    row('total_time p50 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p50 ?? null)),
    row('total_time p90 (s)', (a) => fmt(a.summary.generation_time['total_time']?.p90 ?? null)),
  ].join('')}</table></section>`;
}

export function renderHtmlReport(input: ReportInput): string {
  const { analysis: a, stats: s } = input;
  const corrupt = s.firstCorrupt ? ` (first at ${s.firstCorrupt.file}:${s.firstCorrupt.line})` : '';
  const notRecord = s.firstNotRecord ? ` (first at ${s.firstNotRecord.file}:${s.firstNotRecord.line}, missing ${s.firstNotRecord.missing})` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>data-collector report</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1a202c;max-width:${W + 40}px}svg{background:#fff;border:1px solid #e2e8f0}
svg text{font-size:10px;fill:#4a5568}h2{font-size:15px;margin:20px 0 4px}.legend{font-size:12px}.key i{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #e2e8f0}</style></head><body>
<h1>Generations: ${a.summary.records} selected</h1>
<p>Data dirs: ${input.dataDirs.map(esc).join(', ')}. Filter: ${esc(JSON.stringify(input.filter))}. Made ${new Date(input.now).toISOString()}.<br>
Acceptance rate ${pct(a.summary.acceptance_rate)} = ${a.summary.accepted} accepted / ${a.summary.feedback_received} with feedback received.
Corrupt lines skipped: ${s.corrupt}${esc(corrupt)}. Not-a-record lines skipped: ${s.notRecord}${esc(notRecord)}.${s.specRecords ? ` Records in the spec's schema (outcome derived): ${s.specRecords}.` : ''}</p>
${input.groups ? hostTable(input.groups) : ''}
${acceptanceChart(a)}${clipChart(a)}${validatorChart(a)}${failureChart(a)}${timeChart(a)}
</body></html>
`;
}

export function writeHtmlReport(file: string, input: ReportInput): void {
  const tmp = `${file}.tmp`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, renderHtmlReport(input));
  fs.renameSync(tmp, file);
}
