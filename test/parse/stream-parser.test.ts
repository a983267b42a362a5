/** Entries and their continuation lines, tracebacks, damage in date mode, hostile input. */
import { base64Prompt, bt, DEFAULTS, fileLines, lineAt, loguru, MINER, parseBytes, parseLines, PM2_DATE, pm2DateMode, pm2JsonMode, WORKER } from './helpers';
import { StreamParser, type LogEvent } from '../../src/parse';
import type { Line } from '../../src/sources';

const date = (pieces: string[]) => Buffer.from(pieces.map((p) => `${PM2_DATE}: ${p}\n`).join(''));

const TB = [
  'Traceback (most recent call last):',
  '  File "/home/miner/neurons/miner/workers.py", line 120, in _generate',
  '    async with session.post(url, data=form) as response:',
  'aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected',
];

describe('continuation lines', () => {
  test('a traceback after a matched ERROR line is its stack trace', () => {
    const { events } = parseLines([bt('An unexpected error occurred: Server disconnected (http://127.0.0.1:8093/generate/)', { level: 'ERROR' }), ...TB, bt('Generation completed. Size: 1')]);
    expect(events.map((e) => e.type)).toEqual(['client_error', 'generation_completed']);
    expect(events[0]!.stackTrace).toBe(TB.join('\n'));
    expect(events[1]!.stackTrace).toBeNull();
  });

  test('a chained traceback keeps its blank lines (plain mode)', () => {
    const lines = [...TB, '', 'During handling of the above exception, another exception occurred:', '', ...TB];
    const { events } = parseLines([bt('An unexpected error occurred: x (http://h/)', { level: 'ERROR' }), ...lines]);
    expect(events[0]!.stackTrace).toBe(lines.join('\n'));
  });

  test('a wrapped message line joins the entry before it', () => {
    const { events, parser } = parseLines([bt('Generation completed. Size: 12'), 'second line of a message']);
    expect(events[0]!.stackTrace).toBe('second line of a message');
    expect(parser.stats.orphans).toBe(0);
  });

  test('header-less lines before any entry are orphans', () => {
    const { events, parser } = parseLines([...TB, bt('Generation completed. Size: 1')]);
    expect(events).toHaveLength(1);
    expect(parser.stats.orphans).toBe(TB.length);
  });

  test('continuation lines are bounded', () => {
    const { events, parser } = parseLines([bt('An unexpected error occurred: x (http://h/)', { level: 'ERROR' }), ...Array.from({ length: 2000 }, (_, i) => `  line ${i} ${'x'.repeat(100)}`)]);
    expect(events[0]!.stackTrace!.length).toBeLessThanOrEqual(64 * 1024);
    expect(parser.stats.dropped).toBeGreaterThan(0);
  });
});

describe('exception event: an ERROR entry no rule knows, with a traceback', () => {
  test('gives an exception event with its first line and the redacted trace', () => {
    const wallet = "/home/op/.bittensor/wallets/sn17-cold/hotkeys/sn17-hot-01";
    const { events } = parseLines([
      bt(`Error while generating: [Errno 2] No such file or directory: '${wallet}'`, { level: 'ERROR' }),
      'Traceback (most recent call last):',
      `  File "/srv/miner/neurons/miner/workers.py", line 88, in run`,
      `    keyfile = open('${wallet}')`,
      `FileNotFoundError: [Errno 2] No such file or directory: '${wallet}'`,
    ]);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e).toMatchObject({ type: 'exception', rule: 'exception', level: 'ERROR', damaged: false });
    expect(e.fields.message).toBe("Error while generating: [Errno 2] No such file or directory: '[REDACTED_PATH]'");
    expect(e.stackTrace).toContain('FileNotFoundError');
    expect(JSON.stringify(e)).not.toMatch(/sn17-cold|sn17-hot-01|wallets/);
  });

  test('CRITICAL too; the message is cut to 1 KB on a character boundary', () => {
    const msg = 'Fatal: ' + '\u00e9'.repeat(2000);
    const e = parseLines([bt(msg, { level: 'CRITICAL' }), ...TB]).events[0]!;
    expect(e.type).toBe('exception');
    const m = e.fields.message as string;
    expect(Buffer.byteLength(m)).toBeLessThanOrEqual(1024);
    expect(m).not.toContain('\ufffd');
    expect(msg.startsWith(m)).toBe(true);
  });

  test('not for INFO/WARNING entries, nor for ERROR lines without a traceback', () => {
    expect(parseLines([bt('Something odd', { level: 'WARNING' }), ...TB]).events).toHaveLength(0);
    expect(parseLines([bt('Something odd', { level: 'ERROR' }), 'a wrapped line']).events).toHaveLength(0);
  });

  test('the worker too (loguru), and in date mode', () => {
    const w = parseLines([loguru('Exception in ASGI application', { level: 'ERROR', where: 'uvicorn.protocols.http.h11_impl:run_asgi:408' }), ...TB], WORKER);
    expect(w.events[0]).toMatchObject({ type: 'exception', fields: { message: 'Exception in ASGI application' } });
    const d = parseBytes(date([bt('Unhandled failure', { level: 'ERROR' }), ...TB]));
    expect(d.events[0]).toMatchObject({ type: 'exception', stackTrace: TB.join('\n') });
  });
});

describe('date mode', () => {
  test('a traceback written in parts (indentation, then text, then a bare newline)', () => {
    // as PM2 wrote the sample's gen-worker-2-error.log
    const pieces = [bt('An unexpected error occurred: x (http://h/)', { level: 'ERROR' }), 'Traceback (most recent call last):',
      '  File "/home/miner/neurons/emulate_miner.py", line 213, in <module>', '    ', 'worker(json.load(open(args["--plan"])))', '', 'KeyboardInterrupt', ''];
    const { events, parser } = parseBytes(date(pieces));
    expect(events[0]!.stackTrace).toBe(['Traceback (most recent call last):', '  File "/home/miner/neurons/emulate_miner.py", line 213, in <module>',
      '    worker(json.load(open(args["--plan"])))', 'KeyboardInterrupt'].join('\n'));
    expect(parser.stats.damaged).toBe(0);
  });

  test('a fragment of a line whose start PM2 dropped is counted, never joined, never a task', () => {
    const { events, parser } = parseBytes(date([bt('Generation completed. Size: 27550631'), 'AAAAAAAAAAAAAAAAAAAAAA== with timeout None seconds', bt('Generation completed. Size: 5')]));
    expect(events.map((e) => [e.type, e.fields.bytes, e.damaged, e.stackTrace])).toEqual([
      ['generation_completed', 27550631, false, null], ['generation_completed', 5, false, null],
    ]);
    expect(parser.stats.damaged).toBe(1);
    expect(parser.stats.damagedAt).toEqual([`${MINER.file}:${bt('Generation completed. Size: 27550631').length + PM2_DATE.length + 3}`]);
  });

  test('fragments with no entry before them are damage, traceback lines are orphans', () => {
    const { parser } = parseBytes(date(['rest of a prompt=.', ...TB]));
    expect(parser.stats).toMatchObject({ damaged: 1, orphans: TB.length });
  });

  test('a long line\'s start with no end: a damaged event, counted', () => {
    const { events, parser } = parseBytes(date([bt('Task received. Prompt: AAAABBBB'), 'CCCCDDDD', bt('Generation completed. Size: 5')]));
    expect(events[0]).toMatchObject({ type: 'task_received', damaged: true, long: null, fields: {} });
    expect(events[1]).toMatchObject({ type: 'generation_completed', damaged: false });
    expect(parser.stats.damaged).toBeGreaterThanOrEqual(1);
  });

  test('a line that could end at two pieces is ambiguous: damaged, never a guessed prompt', () => {
    // "a chair." + "on a table." is either one prompt or a prompt and a fragment of the next line
    const { events } = parseBytes(date([bt('Task received. Prompt: a chair.'), 'on a table.']));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'task_received', damaged: true, long: null });
  });

  test('an empty piece (a chunk that held only a newline) after a line does not make it ambiguous', () => {
    // found by the date-mode property: the generating line was read as damaged
    const { events } = parseBytes(date([bt('Generating for prompt: wooden with timeout None seconds'), '', 'rest of a line.']));
    expect(events[0]).toMatchObject({ type: 'generating', damaged: false });
    expect(events[0]!.long!.toString()).toBe('wooden');
  });

  test('the rest of a cut header is a fragment, not a traceback line (found by the property)', () => {
    for (const rest of ['       | bittensor:workers.py:87 | Average score: 0.6.', '    DEBUG       | bittensor:workers.py:87 | x', 'BUG       | Task received. Prompt: x.', '.123 | INFO     | serve:generate:88 - Total 2s']) {
      const { events, parser } = parseBytes(date([bt('Generation completed. Size: 1'), rest]));
      expect(events[0]!.stackTrace).toBeNull();
      expect(parser.stats.damaged).toBe(1);
    }
  });

  test('a line PM2 lost to its last byte leaves an empty piece after a whole line: counted (found by the property)', () => {
    const { events, parser } = parseBytes(date([bt('Task received. Prompt: with on lamp.'), '', bt('Generation completed. Size: 1')]));
    expect(events.map((e) => [e.type, e.damaged])).toEqual([['task_received', false], ['generation_completed', false]]);
    expect(parser.stats.damaged).toBe(1);
  });

  test('a short line cut in two by PM2 is joined (its pattern needs its end)', () => {
    const { events } = parseBytes(date([bt('Feedback received from [142]. Score: 0.6786. (a red'), ' wooden chair #1)']));
    expect(events[0]).toMatchObject({ type: 'feedback', damaged: false, fields: { log_id: 'a red wooden chair #1', score: 0.6786 } });
  });
});

describe('hostile input', () => {
  const started = () => performance.now();

  test('2 MB of "(" after a valid header: unmatched, fast', () => {
    const t = started();
    const { events, parser } = parseLines([bt('('.repeat(2 << 20))]);
    expect(events).toHaveLength(0);
    expect(parser.stats.unmatched).toBe(1);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  test('2 MB of "(" after each rule prefix: counted, fast, no intact-looking event', () => {
    const body = '('.repeat(2 << 20);
    for (const prefix of ['Task received. Prompt: ', 'Generating for prompt: ', 'Feedback received from [', 'Feedback received from [1]. Prompt: ', 'An unexpected error occurred: ', 'Failed to get task from [', 'Average score: ']) {
      const t = started();
      const { events, parser } = parseLines([bt(prefix + body, { level: 'ERROR' })]);
      expect(events.every((e) => e.damaged)).toBe(true);
      expect(parser.stats.damaged + parser.stats.unmatched).toBe(1);
      expect(performance.now() - t).toBeLessThan(2000);
    }
    // and the same with a valid end: the long field is the 2 MB, exact
    const e = parseLines([bt(`Task received. Prompt: ${body}.`)]).events[0]!;
    expect(e.long!.length).toBe(body.length);
  });

  test('2 MB of "(" in date mode, in 64 KiB pieces', () => {
    const line = bt('Task received. Prompt: ' + '('.repeat(2 << 20));
    const pieces: string[] = [];
    for (let i = 0; i < line.length; i += 65536) pieces.push(line.slice(i, i + 65536));
    const t = started();
    const { events, parser } = parseBytes(date(pieces));
    expect(events).toEqual([expect.objectContaining({ type: 'task_received', damaged: true })]);
    expect(parser.stats.damaged).toBeGreaterThan(0);
    expect(performance.now() - t).toBeLessThan(3000);
  });

  test('garbage bytes and invalid UTF-8 never throw', () => {
    const junk = Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x39, 0x39, 0xc3, 0x28, 0x80, 0x0a, 0xe2, 0x82, 0x0a]);
    const header = Buffer.from(bt('Task received. Prompt: '));
    const file = Buffer.concat([junk, header, Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('.\n'), header, Buffer.from([0xe2, 0x82]), Buffer.from(' with\n')]);
    const { events } = parseBytes(file);
    // the long field is the bytes as written, invalid or not
    expect(events[0]!.long!.equals(Buffer.from([0xc3, 0x28, 0xff]))).toBe(true);
    expect(events[1]).toMatchObject({ damaged: true });
  });

  test('a JSON-mode line that is not valid JSON is not taken as JSON', () => {
    const { events } = parseBytes(Buffer.from('{"message":"2025-11-12 21:30:45.123 | DEB\n' + bt('Generation completed. Size: 3') + '\n'));
    expect(events).toHaveLength(1);
  });
});

describe('positions travel with the events', () => {
  const OLD = { dev: 1, ino: 10, fingerprint: 'aa', fingerprintBytes: 2 };
  const NEW = { dev: 1, ino: 11, fingerprint: 'bb', fingerprintBytes: 2 };
  const line = (text: string, offset: number, identity: typeof OLD): Line => ({
    bytes: Buffer.from(text),
    offset,
    end: offset + text.length + 1,
    source: { app: MINER.app, stream: MINER.stream, path: MINER.file, identity },
  });

  test("each event carries the identity and span of its entry's first line; an open entry's position is where a checkpoint may stand", () => {
    const events: LogEvent[] = [];
    const p = new StreamParser(MINER, { rules: DEFAULTS, timeZone: 'UTC' }, (e) => events.push(e));
    const a = bt('Generation completed. Size: 5', { time: '2025-11-12 21:30:45.123' });
    const b = bt('Generation failed with code: 500', { time: '2025-11-12 21:30:46.123', level: 'ERROR' });
    p.push(line(a, 0, OLD));
    expect(p.pendingAt()).toEqual({ identity: OLD, offset: 0 });
    // the file was rotated: the next entry is the new file's first line
    p.push(line(b, 0, NEW));
    expect(events.map((e) => [e.identity.ino, e.offset, e.end])).toEqual([[10, 0, a.length + 1]]);
    // an ERROR entry waits for a traceback, in the new file
    expect(p.pendingAt()).toEqual({ identity: NEW, offset: 0 });
    p.push(line('Traceback (most recent call last):', b.length + 1, NEW));
    p.flush();
    expect(events.map((e) => [e.identity.ino, e.offset])).toEqual([[10, 0], [11, 0]]);
    expect(events[1]!.end).toBe(b.length + 1 + 'Traceback (most recent call last):'.length + 1);
    expect(p.pendingAt()).toBeNull();
  });

  test('a JSON-mode line split over several file lines is pending at the file line where it began', () => {
    const events: LogEvent[] = [];
    const p = new StreamParser(MINER, { rules: DEFAULTS, timeZone: 'UTC' }, (e) => events.push(e));
    const text = `${bt('Generation completed. Size: 7')}\n`;
    const chunks = pm2JsonMode(Buffer.from(text), [10, 1000]).toString().split('\n').filter(Boolean);
    p.push(line(chunks[0]!, 100, OLD));
    expect(p.pendingAt()).toEqual({ identity: OLD, offset: 100 });
    p.push(line(chunks[1]!, 100 + chunks[0]!.length + 1, NEW));
    p.flush();
    expect(events).toHaveLength(1);
    expect([events[0]!.identity.ino, events[0]!.offset]).toEqual([10, 100]);
  });
});

describe('lines in buffers the reader reuses (ingest)', () => {
  /**
   * Parses `bytes` in batches of `batch` lines, each batch's lines pushed as views of one scratch
   * buffer that is overwritten once the batch is pushed and detach() called.
   */
  function parseReused(bytes: Buffer, batch: number): LogEvent[] {
    const events: LogEvent[] = [];
    const p = new StreamParser(MINER, { rules: DEFAULTS, timeZone: 'UTC' }, (e) => events.push(e));
    const scratch = Buffer.alloc(bytes.length);
    const lines = fileLines(bytes);
    for (let i = 0; i < lines.length; i += batch) {
      let at = 0;
      for (const { line, offset, end } of lines.slice(i, i + batch)) {
        line.copy(scratch, at);
        p.push(lineAt(MINER, scratch.subarray(at, at + line.length), offset, end));
        at += line.length;
      }
      p.detach();
      scratch.fill('Z');
    }
    p.flush();
    return events;
  }

  test('after detach() no event and no open entry holds a view of a pushed line: the same events as with fresh buffers', () => {
    const prompt = base64Prompt(3000);
    const stream = Buffer.from(
      [
        bt(`Task received. Prompt: ${prompt}.`),
        bt(`Generating for prompt: ${prompt} with timeout None seconds`),
        bt('An unexpected error occurred: Server disconnected (http://127.0.0.1:8093/generate/)', { level: 'ERROR' }),
        ...TB,
        bt('Generation completed. Size: 12'),
        'second line of a message',
      ].join('\n') + '\n',
    );
    const plain = parseBytes(stream).events;
    const date = pm2DateMode(stream, [700, 1500, 64 * 1024]);
    for (const [bytes, fresh] of [
      [stream, plain],
      [date, parseBytes(date).events],
    ] as const)
      for (const batch of [1, 2, 3]) {
        const reused = parseReused(bytes, batch);
        expect(reused.map((e) => e.type)).toEqual(fresh.map((e) => e.type));
        expect(JSON.stringify(reused)).toBe(JSON.stringify(fresh));
      }
    expect(plain.find((e) => e.type === 'task_received')!.long!.toString()).toBe(prompt);
    expect(plain.find((e) => e.type === 'client_error')!.stackTrace).toBe(TB.join('\n'));
  });
});
