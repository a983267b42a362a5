/**
 * analyze --report: the page is opened in headless Chromium at 1400 and 600 px and checked on screen:
 * the marks drawn in each chart (counted against numbers worked out by hand from the fixture's table),
 * the table beside each chart (against `analyze --json` of the same selection), no horizontal scrollbar,
 * no y tick label twice, the selection in words, the empty states, and record text escaped.
 * Needs /usr/bin/chromium (Debian's chromium, installed by .ci/run) and playwright-core.
 * The 1400 px screenshot is written to test/artifacts/report-1400.png; docs/report.png is a copy of it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { runAnalyze } from '../../src/cli/analyze';
import type { CliIo } from '../../src/cli/io';
import type { Analysis } from '../../src/query/analysis';
import { EMPTY } from '../../src/report/html';
import { serializeRecord } from '../../src/schema/serialize';
import { buildFleet, NOW, record, ROWS } from '../query/fixture';

const CHROMIUM = '/usr/bin/chromium';
const playwright = require('playwright-core') as typeof import('playwright-core');
const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
const SECTIONS = ['--summary', '--acceptance-rate', '--failures', '--clip-distribution', '--validator'];

let browser: Browser;
const roots: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`the report test needs ${CHROMIUM}: apt-get install -y chromium`);
  browser = await playwright.chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

type Json = Analysis & { groups?: Record<string, Analysis> };

/** Writes the report for `args` and returns it with the JSON analysis of the same selection. */
async function report(root: string, args: string[]): Promise<{ file: string; html: string; json: Json }> {
  const file = path.join(root, 'report.html');
  const quiet: CliIo = { now: () => NOW, stdout: () => {}, stderr: () => {}, stderrIsTty: false, threads: 0 };
  expect(await runAnalyze([...args, '--report', file], quiet)).toBe(0);
  let out = '';
  expect(await runAnalyze([...args, ...SECTIONS, '--json'], { ...quiet, stdout: (s) => void (out += s) })).toBe(0);
  return { file, html: fs.readFileSync(file, 'utf8'), json: JSON.parse(out) as Json };
}

/** Opens the page at a width; every request that is not the file itself is collected in `requests`. */
async function open(file: string, width: number): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => void (r.url().startsWith('file:') ? null : requests.push(r.url())));
  await page.goto(`file://${file}`);
  return { page, requests };
}

/** What holds at every width: no horizontal scrollbar, no y tick label twice in a chart, readable text. */
async function checkLayout(page: Page, width: number): Promise<void> {
  const { scrollWidth, innerWidth } = (await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })')) as { scrollWidth: number; innerWidth: number };
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  for (const chart of await page.locator('svg[data-chart]').all()) {
    const ticks = await chart.locator('.ytick').allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ticks).size).toBe(ticks.length);
    // the chart fills its column: 12-unit text in a 600-unit viewBox is at least 10 px on screen
    const box = (await chart.boundingBox())!;
    expect((box.width / 600) * 12).toBeGreaterThanOrEqual(10);
    expect(box.width).toBeLessThanOrEqual(width);
  }
}

/** The rows of a table as cell texts (the row header first). */
function rows(page: Page, table: string): Promise<string[][]> {
  return page.locator(`table[data-table="${table}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())));
}

/** A shown cell stands for a figure of the JSON: '-' for null, a percentage for a rate, else rounded as shown. */
function expectSame(shown: string[][], want: (string | number | null)[][], rates: number[] = []): void {
  expect(shown.length).toBe(want.length);
  want.forEach((row, r) => {
    expect(shown[r]!.length).toBe(row.length);
    row.forEach((v, c) => {
      const cell = shown[r]![c]!;
      if (v === null) return expect(cell).toBe('-');
      if (typeof v === 'string') return expect(cell).toBe(v);
      const m = /^(-?\d+(?:\.(\d+))?)(%?)$/.exec(cell);
      if (!m) throw new Error(`row ${r} column ${c}: '${cell}' is not a number (want ${v})`);
      expect(m[3] === '%').toBe(rates.includes(c));
      const diff = Math.abs(Number(m[1]) - (m[3] ? v * 100 : v));
      expect(diff).toBeLessThanOrEqual(0.5 * 10 ** -(m[2]?.length ?? 0) + 1e-9);
    });
  });
}

/** Every chart's table against the JSON analysis. */
async function checkTables(page: Page, a: Json): Promise<void> {
  expectSame(await rows(page, 'acceptance'), a.acceptance.by_day.flatMap((d) => Object.keys(d.by_task_type).sort().map((t) => { const c = d.by_task_type[t]!; return [d.day, t, c.accepted, c.feedback_received, c.acceptance_rate]; })), [4]);
  expectSame(await rows(page, 'clip'), a.clip_distribution.bins.map((b) => [b.from, b.to, b.count]));
  expectSame(await rows(page, 'validators'), a.validators.filter((v) => v.score.n > 0).map((v) => [String(v.validator_uid), v.score.n, v.score.min, v.score.p50, v.score.p90, v.score.mean, v.score.max]));
  expectSame(await rows(page, 'failure-types'), a.failures.by_type.map((t) => [t.error_type, t.count, t.share, t.sample_message]), [2]);
  const types = a.failures.by_type.map((t) => t.error_type);
  expectSame(await rows(page, 'failures'), a.failures.by_day.flatMap((d) => types.filter((t) => d.by_type[t]).map((t) => [d.day, t, d.by_type[t]!])));
  expectSame(await rows(page, 'timing'), Object.entries(a.summary.generation_time).map(([k, d]) => [k, d.n, d.p50, d.p90, d.p99, d.max]));
}

test.each([1400, 600])('the report at %i px: every chart drawn, a table of the same figures beside it, no horizontal scroll', async (width) => {
  const fleet = buildFleet();
  roots.push(fleet.root);
  const { file, html, json } = await report(fleet.root, ['--data-dir', fleet.a, '--data-dir', fleet.b, '--group-by', 'host']);
  expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // self-contained: no URL to fetch
  expect(html).not.toContain('<script');
  const { page, requests } = await open(file, width);
  const count = (sel: string): Promise<number> => page.locator(sel).count();
  expect(await page.locator('[data-filters]').textContent()).toBe('Selection: all records');
  // acceptance points: days with feedback per task type: TEXT 09-10 10-02 10-20 11-18, IMAGE 09-11 10-01 11-15 11-19 -> 8
  expect(await count('svg[data-chart="acceptance"] .mark')).toBe(8);
  // CLIP bins from 0.08 to 0.30 by 0.02: 12 bins; 9 scores, .18 and .19 share a bin -> 8 non-empty bins
  // (empty bins draw nothing); one threshold line
  expect(await count('svg[data-chart="clip"] .mark')).toBe(8);
  expect(await count('svg[data-chart="clip"] .threshold')).toBe(1);
  // the tallest bin holds 2 records: ticks 0, 1, 2
  expect(await page.locator('svg[data-chart="clip"] .ytick').allTextContents()).toEqual(['0', '1', '2']);
  // validators with a score: 49, 57, 142 (B3's unknown validator has none) -> 3; scores on quarter ticks
  expect(await count('svg[data-chart="validators"] .mark')).toBe(3);
  expect(await page.locator('svg[data-chart="validators"] .ytick').allTextContents()).toEqual(['0', '0.25', '0.5', '0.75', '1']);
  // failures: 10-01 endpoint_timeout, 11-19 pre_submission_rejection, 11-19 submit_failed -> 3 bars
  expect(await count('svg[data-chart="failures"] .mark')).toBe(3);
  // timing: 5 stages (total, sdxl, trellis, background_removal, saving) x p50/p90/p99 -> 15 bars
  expect(await count('svg[data-chart="timing"] .mark')).toBe(15);
  expect(await count('[data-empty]')).toBe(0);
  // hosts side by side: box-a, box-b
  expect(await page.locator('table[data-table="hosts"] th.host').allTextContents()).toEqual(['box-a', 'box-b']);
  const hosts = await rows(page, 'hosts');
  const [ga, gb] = [json.groups!['box-a']!.summary, json.groups!['box-b']!.summary];
  expectSame(hosts.slice(0, 3), [['records', ga.records, gb.records], ['feedback received', ga.feedback_received, gb.feedback_received], ['accepted', ga.accepted, gb.accepted]]);
  expectSame(hosts.slice(3, 4), [['acceptance rate', ga.acceptance_rate, gb.acceptance_rate]], [1, 2]);
  await checkTables(page, json);
  await checkLayout(page, width);
  // marks are really drawn: the histogram's first bar has a height on screen
  const bar = (await page.locator('svg[data-chart="clip"] .mark').first().boundingBox())!;
  expect(bar.height).toBeGreaterThan(1);
  // side by side at 1400 (the table's left edge right of the chart's), stacked at 600 (the table below it)
  const chart = (await page.locator('section[data-section="clip"] svg').boundingBox())!;
  const table = (await page.locator('table[data-table="clip"]').boundingBox())!;
  if (width >= 1000) {
    expect(table.x).toBeGreaterThanOrEqual(chart.x + chart.width);
    expect(chart.width).toBeGreaterThan(600); // no longer a fixed 640 px on a wide page
  } else {
    expect(table.y).toBeGreaterThanOrEqual(chart.y + chart.height);
  }
  expect(requests).toEqual([]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `report-${width}.png`), fullPage: true });
  await page.close();
});

test('the selection is said in words, and a chart with nothing to draw says why', async () => {
  const fleet = buildFleet();
  roots.push(fleet.root);
  // IMAGE-TO-3D, validator 49, accepted, in [11-01, 11-20): A5 and B2, neither failed
  const args = ['--data-dir', fleet.a, '--data-dir', fleet.b, '--task-type', 'IMAGE-TO-3D', '--validator', '49', '--since', '2025-11-01', '--until', '2025-11-20', '--accepted-only'];
  const { file, html, json } = await report(fleet.root, args);
  expect(json.summary.records).toBe(2);
  expect(html).not.toContain('sinceMs'); // no filter JSON
  for (const width of [1400, 600]) {
    const { page } = await open(file, width);
    expect(await page.locator('[data-filters]').textContent()).toBe('Selection: IMAGE-TO-3D only, validator 49, 2025-11-01 to 2025-11-20, accepted only');
    expect(await page.locator('[data-empty="failures"]').textContent()).toBe(EMPTY.failures(2));
    expect(await page.locator('svg[data-chart="failures"]').count()).toBe(0);
    expect(await page.locator('svg[data-chart="clip"] .mark').count()).toBe(2);
    await checkTables(page, json);
    await checkLayout(page, width);
    await page.close();
  }
});

test('no CLIP scores: the CLIP chart says so; prompts and error messages are escaped, never run', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-report-'));
  roots.push(root);
  const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
  const lines = ROWS.filter((r) => r.key === 'A3' || r.key === 'B2').map((row) => {
    const r = record({ ...row, clip: undefined, error: row.error ? [row.error[0], `${evil} timed out`] : undefined });
    r.task.prompt = `${evil} a chair`;
    r.generation.output.quality_metrics.clip_score = null;
    return `${serializeRecord(r)}\n`;
  });
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data', 'generation_history.jsonl'), lines.join(''));
  const { file, html, json } = await report(root, ['--data-dir', path.join(root, 'data')]);
  expect(json.clip_distribution.n).toBe(0);
  expect(html).not.toMatch(/<script|<img/i);
  const { page } = await open(file, 600);
  expect(await page.locator('[data-empty="clip"]').textContent()).toBe('no CLIP scores in these records (a stock worker logs none; see docs/rules.md)');
  expect(await page.locator('svg[data-chart="clip"]').count()).toBe(0);
  // the message is shown as text, not as markup: no element was made of it and nothing ran
  expect(await rows(page, 'failure-types')).toEqual([['endpoint_timeout', '1', '100.0%', `${evil} timed out`]]);
  expect(await page.evaluate('({ scripts: document.scripts.length, images: document.images.length, pwned: window.__pwned ?? null })')).toEqual({ scripts: 0, images: 0, pwned: null });
  await checkTables(page, json);
  await checkLayout(page, 600);
  await page.close();
});
