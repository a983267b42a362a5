/**
 * SVG pieces of the HTML report. A chart is drawn in a fixed coordinate box (viewBox W x H) and scaled
 * by CSS to the width of its column, so it fills a wide page and still fits a phone. Each data mark has
 * class "mark", each y tick label class "ytick" (tests count them on the rendered page).
 */
export const W = 600;
export const H = 260;
export const PAD = { l: 52, r: 12, t: 14, b: 44 };
export const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#e53e3e', '#319795', '#b7791f', '#d53f8c', '#4a5568'];

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Drops float noise (0.30000000000000004 -> 0.3) so tick labels are exact and distinct. */
const clean = (v: number): number => +v.toFixed(10);

/**
 * Y ticks from 0 up to at least `max`, about 4 to 6 of them, at a 1/2/2.5/5 x 10^k step. `integer`:
 * counts, whose ticks are whole numbers (max 1 gives 0, 1; never 0, 1, 1).
 */
export function niceTicks(max: number, integer: boolean): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const steps = (integer && mag < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]).map((m) => m * mag);
  let step = steps.find((s) => s >= raw - 1e-12) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const n = Math.max(1, Math.ceil(clean(max / step)));
  return Array.from({ length: n + 1 }, (_, i) => clean(i * step));
}

/** Scores and rates live in [0, 1]: quarter ticks. */
export const UNIT_TICKS = [0, 0.25, 0.5, 0.75, 1];

export const innerW = W - PAD.l - PAD.r;
export const innerH = H - PAD.t - PAD.b;
/** y of value v on a scale whose top is `top`. */
export const yOf = (v: number, top: number): number => PAD.t + innerH * (1 - v / top);

/** An x label, wrapped at underscores onto two lines when long ("background_removal"). */
function xLabel(x: number, label: string): string {
  const parts = label.length > 10 && label.includes('_') ? [label.slice(0, label.indexOf('_')), label.slice(label.indexOf('_') + 1)] : [label];
  const y = H - PAD.b + 16;
  return `<text class="xtick" x="${x}" y="${y}" text-anchor="middle">${parts.map((p, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : 13}">${esc(p)}</tspan>`).join('')}</text>`;
}

export interface Frame {
  chart: string;
  /** Accessible name of the picture; the figures themselves are in the table beside it. */
  label: string;
  ticks: number[];
  tickLabel: (v: number) => string;
  xLabels: string[];
  body: string;
}

/** Axes, grid lines and tick labels around `body`; scales to its container's width. */
export function svg(f: Frame): string {
  const top = f.ticks[f.ticks.length - 1]!;
  const grid = f.ticks
    .map((v) => {
      const y = yOf(v, top);
      return `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y}" y2="${y}" stroke="${v === 0 ? '#a0aec0' : '#e2e8f0'}"/><text class="ytick" x="${PAD.l - 6}" y="${y + 4}" text-anchor="end">${esc(f.tickLabel(v))}</text>`;
    })
    .join('');
  const step = Math.max(1, Math.ceil(f.xLabels.length / 8));
  const xs = f.xLabels.map((l, i) => (i % step === 0 ? xLabel(PAD.l + (innerW * (i + 0.5)) / f.xLabels.length, l) : '')).join('');
  return `<svg data-chart="${f.chart}" viewBox="0 0 ${W} ${H}" preserveAspectRatio="xMidYMid meet" role="img" aria-label="${esc(f.label)}">${grid}${xs}${f.body}</svg>`;
}

export function legend(series: string[]): string {
  if (series.length < 2) return '';
  return `<div class="legend">${series.map((l, i) => `<span class="key"><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(l)}</span>`).join(' ')}</div>`;
}

export interface BarsSpec {
  chart: string;
  label: string;
  groups: string[];
  series: string[];
  value: (g: number, s: number) => number;
  /** Counts: whole-number ticks. */
  integer: boolean;
  valueLabel: (v: number) => string;
  stacked: boolean;
  /** Extra drawing over the bars, given the scale's top. */
  overlay?: (top: number) => string;
}

/** Grouped or stacked bars; a zero draws nothing. */
export function bars(b: BarsSpec): string {
  let max = 0;
  for (let g = 0; g < b.groups.length; g++) {
    let sum = 0;
    for (let s = 0; s < b.series.length; s++) sum = b.stacked ? sum + b.value(g, s) : Math.max(sum, b.value(g, s));
    max = Math.max(max, sum);
  }
  const ticks = niceTicks(max, b.integer);
  const top = ticks[ticks.length - 1]!;
  const gw = innerW / Math.max(1, b.groups.length);
  const out: string[] = [];
  for (let g = 0; g < b.groups.length; g++) {
    let base = 0;
    for (let s = 0; s < b.series.length; s++) {
      const v = b.value(g, s);
      if (!(v > 0)) continue;
      const h = (innerH * v) / top;
      const bw = b.stacked ? gw * 0.8 : (gw * 0.8) / b.series.length;
      const x = PAD.l + g * gw + gw * 0.1 + (b.stacked ? 0 : s * bw);
      const y = PAD.t + innerH - h - (b.stacked ? (innerH * base) / top : 0);
      if (b.stacked) base += v;
      out.push(`<rect class="mark" x="${x}" y="${y}" width="${Math.max(1, bw - 1)}" height="${h}" fill="${COLORS[s % COLORS.length]}"><title>${esc(`${b.groups[g]} ${b.series[s]}: ${b.valueLabel(v)}`)}</title></rect>`);
    }
  }
  return svg({ chart: b.chart, label: b.label, ticks, tickLabel: (v) => String(v), xLabels: b.groups, body: out.join('') + (b.overlay ? b.overlay(top) : '') });
}
