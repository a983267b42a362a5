/** The daemon's health warnings: said when they start, at most hourly while they last, once when they end. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HealthCheck, Warnings } from '../../src/pipeline/health';
import type { StreamSpec } from '../../src/parse';

const MIN = 60_000;

function recorder() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

test('a warning is logged when it starts, again only after an hour (or when it changes), and its end once', () => {
  const { lines, logger } = recorder();
  const w = new Warnings(logger);
  const t0 = 1_700_000_000_000;
  for (let m = 0; m < 130; m++) w.raise('k', 'the miner is silent', t0 + m * MIN);
  expect(lines.map((l) => [l.level, l.msg])).toEqual([
    ['warn', 'the miner is silent'],
    ['warn', 'the miner is silent'],
    ['warn', 'the miner is silent'],
  ]);
  expect(lines[1]!.obj).toEqual({ since: new Date(t0).toISOString() });
  w.raise('k', 'the miner is silent, differently', t0 + 131 * MIN);
  expect(lines).toHaveLength(4);
  expect(w.list()).toEqual([{ key: 'k', message: 'the miner is silent, differently', since: new Date(t0).toISOString() }]);
  w.clear('k', 'the miner writes again');
  w.clear('k', 'the miner writes again');
  expect(lines.slice(4).map((l) => [l.level, l.msg])).toEqual([['info', 'the miner writes again']]);
  expect(w.list()).toEqual([]);
});

describe('the checks', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-health-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (file: string, role: 'miner' | 'worker'): StreamSpec => ({ app: role === 'miner' ? 'miner-sn17' : 'gen-1', role, group: role === 'miner' ? 'miner' : 'g1', stream: 'out', file });

  test('a followed file missing at two checks, a miner silent for the limit, a PM2 app missing: warned; each cleared when it is over', async () => {
    const minerLog = path.join(dir, 'miner-out.log');
    const workerLog = path.join(dir, 'gen-1-out.log');
    fs.writeFileSync(minerLog, 'x\n');
    let appsProblem: string | null = 'PM2 has no app named gen-1';
    const { lines, logger } = recorder();
    const warnings = new Warnings(logger);
    const t0 = Date.now();
    fs.utimesSync(minerLog, new Date(t0), new Date(t0));
    const h = new HealthCheck([spec(minerLog, 'miner'), spec(workerLog, 'worker')], warnings, { everyMs: 30_000, minerSilentMs: 5 * MIN, checkApps: async () => appsProblem, appsEveryChecks: 1 }, t0);
    h.check(t0, null);
    await new Promise((r) => setImmediate(r));
    // missing once is not yet missing (a rotation renames and recreates); the PM2 answer is in
    expect(warnings.list().map((w) => w.key)).toEqual(['pm2-apps']);
    h.check(t0 + 10_000, null); // too soon: no check at all
    h.check(t0 + 30_000, null);
    expect(warnings.list().map((w) => w.key).sort()).toEqual(['file-missing:' + workerLog, 'pm2-apps']);
    expect(lines.find((l) => l.msg.startsWith('followed file does not exist'))!.msg).toContain(workerLog);

    // the miner last wrote at t0; five minutes later it is silent
    h.check(t0 + 5 * MIN, null);
    expect(warnings.has('miner-silent')).toBe(true);
    expect(lines.filter((l) => l.level === 'warn' && l.msg.startsWith('the miner has written nothing'))).toHaveLength(1);

    // it writes again, the worker's file appears, PM2 runs the app
    fs.appendFileSync(minerLog, 'y\n');
    fs.utimesSync(minerLog, new Date(t0 + 6 * MIN), new Date(t0 + 6 * MIN));
    fs.writeFileSync(workerLog, '');
    appsProblem = null;
    h.check(t0 + 6 * MIN, null);
    await new Promise((r) => setImmediate(r));
    // a miner line read live counts as its latest write too
    h.check(t0 + 12 * MIN, t0 + 11.5 * MIN);
    await new Promise((r) => setImmediate(r));
    expect(warnings.list()).toEqual([]);
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg).sort()).toEqual(['PM2 runs the configured apps', `followed file exists now: ${workerLog}`, 'the miner writes again']);
  });
});
