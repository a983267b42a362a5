/**
 * analyze --report: the page is opened in headless Chromium and the marks drawn in each chart are
 * counted on the rendered page, against numbers worked out by hand from the fixture's table.
 * Needs /usr/bin/chromium (Debian's chromium, installed by .ci/run) and playwright-core.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAnalyze } from '../../src/cli/analyze';
import type { CliIo } from '../../src/cli/io';
import { buildFleet, NOW } from '../query/fixture';

const CHROMIUM = '/usr/bin/chromium';
const playwright = require('playwright-core') as typeof import('playwright-core');

test('the report draws every chart with the right number of marks', async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`the report test needs ${CHROMIUM}: apt-get install -y chromium`);
  const fleet = buildFleet();
  const file = path.join(fleet.root, 'report.html');
  const io: CliIo = { now: () => NOW, stdout: () => {}, stderr: () => {}, stderrIsTty: false, threads: 0 };
  expect(await runAnalyze(['--data-dir', fleet.a, '--data-dir', fleet.b, '--report', file, '--group-by', 'host'], io)).toBe(0);
  const html = fs.readFileSync(file, 'utf8');
  expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // self-contained: no URL to fetch
  expect(html).not.toContain('<script');

  const browser = await playwright.chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 720, height: 1400 } });
    const requests: string[] = [];
    page.on('request', (r) => void (r.url().startsWith('file:') ? null : requests.push(r.url())));
    await page.goto(`file://${file}`);
    const count = (sel: string): Promise<number> => page.locator(sel).count();
    // acceptance points: days with feedback per task type: TEXT 09-10 10-02 10-20 11-18, IMAGE 09-11 10-01 11-15 11-19 -> 8
    expect(await count('svg[data-chart="acceptance"] .mark')).toBe(8);
    // CLIP bins from 0.08 to 0.30 by 0.02: 12 bins; 9 scores, .18 and .19 share a bin -> 8 non-empty bins
    // (empty bins draw nothing); one threshold line
    expect(await count('svg[data-chart="clip"] .mark')).toBe(8);
    expect(await count('svg[data-chart="clip"] .threshold')).toBe(1);
    // validators with a score: 49, 57, 142 (B3's unknown validator has none) -> 3
    expect(await count('svg[data-chart="validators"] .mark')).toBe(3);
    // failures: 10-01 endpoint_timeout, 11-19 pre_submission_rejection, 11-19 submit_failed -> 3 bars
    expect(await count('svg[data-chart="failures"] .mark')).toBe(3);
    // timing: 5 stages (total, sdxl, trellis, background_removal, saving) x p50/p90/p99 -> 15 bars
    expect(await count('svg[data-chart="timing"] .mark')).toBe(15);
    // hosts side by side: box-a, box-b
    expect(await page.locator('table[data-table="hosts"] th.host').allTextContents()).toEqual(['box-a', 'box-b']);
    // marks are really drawn: the histogram's first bar has a height on screen
    const box = await page.locator('svg[data-chart="clip"] .mark').first().boundingBox();
    expect(box!.height).toBeGreaterThan(1);
    expect(requests).toEqual([]);
    fs.mkdirSync(path.join(__dirname, '..', 'artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(__dirname, '..', 'artifacts', 'analyze-report.png'), fullPage: true });
  } finally {
    await browser.close();
    fs.rmSync(fleet.root, { recursive: true, force: true });
  }
});
