/**
 * The collector's own log (issue 14): one line per entry; split, info and below on stdout and warn and
 * above on stderr, in both formats. The logger writes to fds of temp files opened here, in-process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, parseLogFormat, type LogFormat } from '../../src/common/log';
import { fieldValue, humanLine, localStamp } from '../../src/common/human-log';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-log-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `body` with a logger on two temp files; returns their lines. */
function capture(format: LogFormat, split: boolean, body: (log: ReturnType<typeof createLogger>) => void) {
  const outPath = path.join(dir, 'out');
  const errPath = path.join(dir, 'err');
  const outFd = fs.openSync(outPath, 'w');
  const errFd = fs.openSync(errPath, 'w');
  try {
    const log = split
      ? createLogger({ level: 'debug', format, split, outFd, errFd, colour: false })
      : createLogger({ level: 'debug', format, fd: errFd, colour: false });
    body(log);
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
  const lines = (p: string) => fs.readFileSync(p, 'utf8').split('\n').slice(0, -1);
  return { out: lines(outPath), err: lines(errPath) };
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR) /;

function logEveryLevel(log: ReturnType<typeof createLogger>): void {
  log.debug({ file: '/logs/miner-out.log', offset: 12 }, 'output file linked');
  log.info({ id: '9605ef60', score: 0.93, files: ['miner:out /a b', 'miner:err /c'] }, 'record');
  log.warn({ error: 'EAGAIN: resource\ntemporarily unavailable', retryInMs: 500 }, 'records not written yet; retrying');
  log.error({ err: new Error('disk gone') }, 'reading stopped');
  log.info({}, 'stopping');
}

describe('createLogger, split (what `run` uses)', () => {
  it('human: debug and info on stdout, warn and error on stderr, one line each', () => {
    const { out, err } = capture('human', true, logEveryLevel);
    expect(out).toHaveLength(3);
    expect(err).toHaveLength(2);
    for (const l of [...out, ...err]) expect(l).toMatch(LINE);
    expect(out[0]!.slice(24)).toBe('DEBUG output file linked file=/logs/miner-out.log offset=12');
    expect(out[1]!.slice(24)).toBe('INFO  record id=9605ef60 score=0.93 files=["miner:out /a b","miner:err /c"]');
    expect(out[2]!.slice(24)).toBe('INFO  stopping');
    expect(err[0]!.slice(24)).toBe(
      'WARN  records not written yet; retrying error="EAGAIN: resource\\ntemporarily unavailable" retryInMs=500',
    );
    expect(err[1]!.slice(24)).toMatch(/^ERROR reading stopped err=\{"type":"Error","message":"disk gone","stack":"Error: disk gone\\n/);
    expect([...out, ...err].join('\n')).not.toMatch(/pid|hostname/);
    expect([...out, ...err].join('\n')).not.toContain('\u001b[');
  });

  it('json: pino JSON lines, the same split, no pid or hostname', () => {
    const { out, err } = capture('json', true, logEveryLevel);
    const parse = (l: string) => JSON.parse(l) as Record<string, unknown>;
    expect(out.map(parse).map((e) => [e.level, e.msg])).toEqual([
      [20, 'output file linked'],
      [30, 'record'],
      [30, 'stopping'],
    ]);
    expect(err.map(parse).map((e) => [e.level, e.msg])).toEqual([
      [40, 'records not written yet; retrying'],
      [50, 'reading stopped'],
    ]);
    expect(parse(out[1]!)).toMatchObject({ id: '9605ef60', score: 0.93, files: ['miner:out /a b', 'miner:err /c'] });
    for (const e of [...out, ...err].map(parse)) {
      expect(typeof e.time).toBe('number');
      expect(e).not.toHaveProperty('pid');
      expect(e).not.toHaveProperty('hostname');
    }
  });

  it('below the level nothing is written', () => {
    const outFd = fs.openSync(path.join(dir, 'out'), 'w');
    const errFd = fs.openSync(path.join(dir, 'err'), 'w');
    const log = createLogger({ level: 'warn', format: 'human', split: true, outFd, errFd });
    log.info({}, 'quiet');
    log.warn({}, 'loud');
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    expect(fs.readFileSync(path.join(dir, 'out'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(dir, 'err'), 'utf8')).toMatch(/ WARN {2}loud\n$/);
  });
});

describe('createLogger, not split (ingest, analyze, ...)', () => {
  it.each(['human', 'json'] as const)('%s: every level on the one fd, one line each', (format) => {
    const { out, err } = capture(format, false, logEveryLevel);
    expect(out).toEqual([]);
    expect(err).toHaveLength(5);
    if (format === 'human') for (const l of err) expect(l).toMatch(LINE);
    else for (const l of err) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });
});

const ESC = String.fromCharCode(27);

describe('the human line', () => {
  const time = new Date(2026, 11, 5, 1, 2, 3, 456).getTime(); // local time, as the line shows it

  it('time, level padded to 5, message, fields', () => {
    expect(localStamp(time)).toBe('2026-12-05 01:02:03.456');
    expect(humanLine({ level: 30, time, msg: 'status', records: 12, lagSeconds: null, ok: true })).toBe(
      '2026-12-05 01:02:03.456 INFO  status records=12 lagSeconds=null ok=true\n',
    );
    expect(humanLine({ level: 50, time, pid: 1, hostname: 'h', msg: 'stop failed', error: 'EIO' })).toBe(
      '2026-12-05 01:02:03.456 ERROR stop failed error=EIO\n',
    );
  });

  it('a message with a newline stays on one line', () => {
    expect(humanLine({ level: 40, time, msg: 'two\nlines\r\n' })).toBe('2026-12-05 01:02:03.456 WARN  two\\nlines\\n\n');
  });

  it('values quoted only when they need it; objects compact JSON', () => {
    expect(fieldValue('/logs/miner-out.log')).toBe('/logs/miner-out.log');
    expect(fieldValue('--max-semi-space-size=2')).toBe('--max-semi-space-size=2');
    expect(fieldValue('')).toBe('""');
    expect(fieldValue('a b')).toBe('"a b"');
    expect(fieldValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(fieldValue("it's")).toBe('"it\'s"');
    expect(fieldValue('tab\there')).toBe('"tab\\there"');
    expect(fieldValue('bell\u0007')).toBe('"bell\\u0007"');
    expect(fieldValue(0.5)).toBe('0.5');
    expect(fieldValue({ a: [1, 'x y'], b: null })).toBe('{"a":[1,"x y"],"b":null}');
  });

  it('colour: level and keys painted, the text unchanged', () => {
    const line = humanLine({ level: 40, time, msg: 'slow', ms: 3 }, true);
    expect(line).toContain('\u001b[33mWARN \u001b[0m');
    expect(line.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe('2026-12-05 01:02:03.456 WARN  slow ms=3\n');
  });
});

describe('parseLogFormat', () => {
  it('names human and json, nothing else', () => {
    expect(parseLogFormat('human')).toBe('human');
    expect(parseLogFormat('json')).toBe('json');
    expect(parseLogFormat('pretty')).toBeNull();
  });
});
