/** Every envelope a line can come in: colours, trace field, level widths, PM2 date prefix and JSON, loguru, CRLF. */
import { parseHeader } from '../../src/parse';
import { bt, loguru, MINER, parseBytes, parseLines, PM2_DATE, WORKER, type Level } from './helpers';

const MSG = 'Generation completed. Size: 27550631';
const LEVELS: Level[] = ['TRACE', 'DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR', 'CRITICAL'];

describe('bittensor header variants', () => {
  for (const ansi of [false, true])
    for (const trace of [false, true])
      for (const width of [16, 8] as const)
        test(`ansi=${ansi} trace=${trace} width=${width}`, () => {
          for (const level of LEVELS) {
            const { events } = parseLines([bt(MSG, { ansi, trace, width, level })]);
            expect(events).toHaveLength(1);
            expect(events[0]).toMatchObject({ type: 'generation_completed', level, timeText: '2025-11-12 21:30:45.123', fields: { bytes: 27550631 } });
          }
        });

  test('the message starts right after the header, colour codes included', () => {
    const line = Buffer.from(bt('Task received. Prompt: x.', { ansi: true }));
    const h = parseHeader(line)!;
    expect(line.subarray(h.messageStart).toString()).toBe('Task received. Prompt: x.');
    expect(h).toMatchObject({ format: 'bittensor', origin: 'bittensor:workers.py:87', zone: null });
  });

  test('the sample\'s exact bytes (ANSI inside the level padding)', () => {
    const line = '\x1b[34m2025-11-12 21:13:26.749\x1b[39m | \x1b[1m\x1b[34m     DEBUG      \x1b[0m | bittensor:workers.py:87 | Task received. Prompt: a red wooden chair #1.';
    expect(parseLines([line]).events[0]!.long!.toString()).toBe('a red wooden chair #1');
  });

  test('a truncated header is no header', () => {
    for (const line of ['2025-11-12 21:30:4', '2025-11-12 21:30:45.123 |   DEB', '2025-11-12 21:30:45.123 |      DEBUG', '\x1b[34m2025-11-12']) {
      expect(parseHeader(Buffer.from(line))).toBeNull();
      const { events, parser } = parseLines([line]);
      expect(events).toHaveLength(0);
      expect(parser.stats.orphans).toBe(1);
    }
  });
});

describe('loguru (worker stderr)', () => {
  test('without and with a zone after the time', () => {
    for (const zone of ['', '+01:00', ' +01:00', ' +0100', 'Z', ' -05:00']) {
      const { events } = parseLines([loguru(' Generation took: 0.5 min', { zone, time: '2025-11-12 21:30:45.201' })], WORKER);
      expect(events).toHaveLength(1);
      const offsetMin = zone.trim() === '' || zone.trim() === 'Z' ? 0 : (zone.includes('-') ? -1 : 1) * 60 * (zone.includes('05') ? 5 : 1);
      expect(events[0]!.timeMs).toBe(Date.UTC(2025, 10, 12, 21, 30, 45, 201) - offsetMin * 60000);
      expect(events[0]!.timeText).toBe('2025-11-12 21:30:45.201');
    }
  });

  test('every level, padded to 8', () => {
    for (const level of LEVELS) expect(parseLines([loguru(' Generation took: 1 min', { level })], WORKER).events[0]!.level).toBe(level);
  });
});

describe('PM2 date prefix', () => {
  test('the prefix is removed, PM2 formats with and without zone and seconds', () => {
    for (const date of [PM2_DATE, '2025-11-12T21:30:45.123Z', '2025-11-12 21:30:45', '2025-11-12 21:30 +0000', '2025-11-12 21:30:45.123 +01:00']) {
      const { events } = parseBytes(Buffer.from(`${date}: ${bt(MSG, { ansi: true })}\n`));
      expect(events).toHaveLength(1);
      expect(events[0]!.fields).toEqual({ bytes: 27550631 });
    }
  });

  test('a long line split into prefixed pieces is joined, exact bytes', () => {
    const line = bt('Task received. Prompt: ' + 'A'.repeat(100) + 'B'.repeat(100) + '=.');
    const cut = [0, 130, 230, line.length];
    const file = cut.slice(1).map((end, i) => `${PM2_DATE}: ${line.slice(cut[i], end)}\n`).join('');
    const { events, parser } = parseBytes(Buffer.from(file));
    expect(events).toHaveLength(1);
    expect(events[0]!.long!.toString()).toBe('A'.repeat(100) + 'B'.repeat(100) + '=');
    expect(events[0]!.end).toBe(Buffer.byteLength(file));
    expect(parser.stats.damaged).toBe(0);
  });
});

describe('PM2 JSON log type', () => {
  const obj = (message: string) => JSON.stringify({ message, timestamp: '2025-11-12T21:30:45.500Z', type: 'out', process_id: 0, app_name: 'm' }) + '\n';

  test('one line split over several objects', () => {
    const line = bt('Generating for prompt: a red chair with timeout None seconds', { ansi: true }) + '\n';
    const file = obj(line.slice(0, 10)) + obj(line.slice(10, 90)) + obj(line.slice(90));
    const { events } = parseBytes(Buffer.from(file));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'generating', offset: 0, end: Buffer.byteLength(file) });
    expect(events[0]!.long!.toString()).toBe('a red chair');
  });

  test('several lines in one object, and a line ending in the next object', () => {
    const text = [bt('Task received. Prompt: a.'), bt('Generating for prompt: a with timeout None seconds'), bt('Generation completed. Size: 5')].join('\n') + '\n';
    const file = obj(text.slice(0, text.length - 4)) + obj(text.slice(text.length - 4));
    const { events } = parseBytes(Buffer.from(file));
    expect(events.map((e) => e.type)).toEqual(['task_received', 'generating', 'generation_completed']);
    expect(events[2]!.fields.bytes).toBe(5);
  });

  test('a traceback inside JSON objects joins its entry', () => {
    const text = bt('An unexpected error occurred: boom (http://127.0.0.1:8093/generate/)', { level: 'ERROR' }) + '\nTraceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom\n';
    const { events } = parseBytes(Buffer.from(obj(text.slice(0, 50)) + obj(text.slice(50))));
    expect(events).toHaveLength(1);
    expect(events[0]!.stackTrace).toBe('Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom');
  });
});

describe('CRLF line ends', () => {
  test.each([
    ['plain', (l: string) => `${l}\r\n`],
    ['date', (l: string) => `${PM2_DATE}: ${l}\r\n`],
  ])('%s', (_mode, wrap) => {
    const lines = [bt('Task received. Prompt: a red chair.'), bt('Generating for prompt: a red chair with timeout None seconds'), bt('Feedback received from [1]. Score: 0.7. (a red chair)')];
    const { events } = parseBytes(Buffer.from(lines.map(wrap).join('')), MINER);
    expect(events.map((e) => [e.type, e.long?.toString() ?? e.fields.log_id])).toEqual([
      ['task_received', 'a red chair'], ['generating', 'a red chair'], ['feedback', 'a red chair'],
    ]);
  });

  test('json', () => {
    const text = bt('Task received. Prompt: a red chair.') + '\r\n' + loguru('x') + '\r\n';
    const { events } = parseBytes(Buffer.from(JSON.stringify({ message: text, timestamp: 't' }) + '\n'));
    expect(events[0]!.long!.toString()).toBe('a red chair');
  });
});
