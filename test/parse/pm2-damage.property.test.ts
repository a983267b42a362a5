/**
 * PM2's damage to long lines, by property: a miner stream is cut into random chunks and put through
 * PM2's own algorithms (helpers: pm2DateMode, pm2JsonMode), then parsed.
 * - date mode: every task line that survived intact gives its event with the exact prompt bytes;
 *   no task event carries a prompt that is not exactly a real prompt; damage is counted.
 * - JSON mode: lossless for any chunking.
 */
import fc from 'fast-check';
import type { LogEvent } from '../../src/parse';
import { base64Prompt, bt, parseBytes, pm2DateMode, pm2JsonMode } from './helpers';

interface Line {
  text: string;
  start: number;
  end: number; // past the newline
  kind: string;
  prompt: string | null;
}

const WORDS = ['a', 'red', 'wooden', 'chair', 'old', 'boot', 'with', 'laces', 'lamp', 'on', 'table', '#1', '(x)', 'caf\u00e9'];

const taskArb = fc.record({
  kind: fc.constantFrom('text', 'text-dots', 'image'),
  words: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 30 }),
  imageSize: fc.integer({ min: 200, max: 140_000 }),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  size: fc.integer({ min: 1, max: 99_999_999 }),
});
const chunksArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 65536 })), { minLength: 1, maxLength: 30 });

function minerStream(tasks: { kind: string; words: string[]; imageSize: number; seed: number; size: number }[]): { bytes: Buffer; lines: Line[] } {
  const lines: Line[] = [];
  let pos = 0;
  const add = (text: string, kind: string, prompt: string | null = null) => {
    const len = Buffer.byteLength(text) + 1;
    lines.push({ text, start: pos, end: pos + len, kind, prompt });
    pos += len;
  };
  for (const t of tasks) {
    const prompt = t.kind === 'image' ? base64Prompt(t.imageSize, t.seed) : t.words.join(t.kind === 'text-dots' ? '. ' : ' ') + (t.kind === 'text-dots' ? '.' : '');
    add(bt(`Task received. Prompt: ${prompt}.`), 'task_received', prompt);
    add(bt(`Generating for prompt: ${prompt} with timeout None seconds`), 'generating', prompt);
    add(bt(`Generation completed. Size: ${t.size}`), 'generation_completed');
    add(bt(`Feedback received from [12]. Score: 0.71. (${prompt.length > 100 ? prompt.slice(0, 97) + '...' : prompt})`), 'feedback');
    add(bt('Average score: 0.62. Current duel rating: 1501.0. Accepted results (last 4h): 41. Reward: 0.0112.'), 'feedback_detail');
  }
  return { bytes: Buffer.from(lines.map((l) => l.text + '\n').join('')), lines };
}

const taskEvents = (events: LogEvent[]) => events.filter((e) => (e.type === 'task_received' || e.type === 'generating') && !e.damaged);
const END: Record<string, RegExp> = { task_received: /\.$/, generating: / with timeout \S+ seconds$/ };

test('date mode: intact task lines give exact prompts, damaged ones never look intact, damage is counted', () => {
  let intactChecked = 0;
  let ambiguousSkipped = 0;
  let damagedLines = 0;
  fc.assert(
    fc.property(fc.array(taskArb, { minLength: 1, maxLength: 5 }), chunksArb, (tasks, chunks) => {
      const { bytes, lines } = minerStream(tasks);
      const dropped: [number, number][] = [];
      const file = pm2DateMode(bytes, chunks, undefined, dropped);
      const { events, parser } = parseBytes(file);
      const prompts = new Set(lines.filter((l) => l.prompt !== null).map((l) => l.prompt!));
      const isIntact = (l: Line) => !dropped.some(([a, b]) => a < l.end - 1 && b > l.start);
      // the parser reads a header and a rule's prefix from a line's first piece only: a line whose
      // first 120 bytes PM2 cut into pieces is not rebuilt (a short write is atomic on a pipe, so
      // in practice only a long line's later part is cut)
      const bounds = new Set<number>();
      for (let p = 0, i = 0; p < bytes.length; i++) bounds.add((p += Math.max(1, chunks[i % chunks.length]!)));
      const headWhole = (l: Line) => ![...Array(Math.min(120, l.end - l.start)).keys()].some((k) => k > 0 && bounds.has(l.start + k));
      const readable = (l: Line) => isIntact(l) && headWhole(l);

      // soundness: a task event's prompt is exactly a real prompt
      for (const e of taskEvents(events)) expect(prompts.has(e.long!.toString('utf8'))).toBe(true);

      // completeness: every intact task line, in order, unless the fragments after it could
      // complete it too (then the file cannot say which line was there: damaged is right)
      const expected: string[] = [];
      lines.forEach((l, i) => {
        if (!END[l.kind] || !readable(l)) return;
        // the text of the lines right after it that left only fragments (no whole header)
        let after = '';
        for (let j = i + 1; j < lines.length && !readable(lines[j]!); j++) after += lines[j]!.text;
        const fragments = after.length > 0 && [...Array(after.length).keys()].some((k) => END[l.kind]!.test(after.slice(0, k + 1)));
        // or PM2 cut the line itself where it could have ended (a text prompt with dots)
        const raw = Buffer.from(l.text);
        const cutAtEnd = [...bounds].some((b) => b > l.start && b < l.end - 1 && END[l.kind]!.test(raw.subarray(0, b - l.start).toString('latin1')));
        if (fragments || cutAtEnd) {
          ambiguousSkipped++;
          return;
        }
        expected.push(`${l.kind}:${l.prompt}`);
      });
      const got = taskEvents(events).map((e) => `${e.type}:${e.long!.toString('utf8')}`);
      // every expected one is there, in order (an ambiguous line may still be read, it is sound)
      let k = 0;
      for (const g of got) if (g === expected[k]) k++;
      expect(k).toBe(expected.length);
      intactChecked += expected.length;

      // damage is counted
      const damaged = lines.filter((l) => !isIntact(l)).length;
      damagedLines += damaged;
      if (damaged > 0) expect(parser.stats.damaged).toBeGreaterThan(0);
      // a damaged line never gives a task event
      expect(taskEvents(events).length).toBeLessThanOrEqual(lines.filter((l) => END[l.kind] && isIntact(l)).length);
    }),
    // a 1-byte chunk left a blank piece, then a header's rest (`bittensor:workers.py:87 | Generation
    // completed`): it was glued on as a traceback's indented line instead of counted as damage
    // a 1-byte chunk left a blank piece, then the rest of a Generating line whose start PM2 dropped
    // (` laces. chair. café. with timeout None seconds`): glued on as a traceback line, not counted
    {
      numRuns: 150,
      examples: [
        [[{ kind: 'text', words: ['with', 'lamp', 'table', 'a'], imageSize: 200, seed: 1, size: 1 }], [295, 1, 358]],
        [[{ kind: 'text-dots', words: ['red', 'caf\u00e9', 'lamp', 'caf\u00e9', 'chair', 'laces', 'chair', 'caf\u00e9'], imageSize: 200, seed: 1, size: 1 }], [273, 1]],
      ],
    },
  );
  console.log(`date mode: ${intactChecked} intact task lines checked exactly, ${ambiguousSkipped} ambiguous skipped, ${damagedLines} damaged lines`);
  expect(intactChecked).toBeGreaterThan(100);
});

test('JSON mode is lossless for any chunking (of ASCII text; see the next test)', () => {
  const ascii = taskArb.map((t) => ({ ...t, words: t.words.map((w) => w.replace(/[^\x20-\x7e]/g, 'e')) }));
  fc.assert(
    fc.property(fc.array(ascii, { minLength: 1, maxLength: 4 }), chunksArb, (tasks, chunks) => {
      const { bytes, lines } = minerStream(tasks);
      const { events, parser } = parseBytes(pm2JsonMode(bytes, chunks));
      expect(events.map((e) => [e.type, e.damaged, e.long?.toString('utf8') ?? null])).toEqual(
        lines.map((l) => [l.kind, false, l.prompt]),
      );
      expect(parser.stats.damaged).toBe(0);
    }),
    { numRuns: 150 },
  );
});

test('JSON mode: PM2 itself replaces a UTF-8 character cut between two chunks (data.toString())', () => {
  // the loss is PM2's (U+FFFD in its JSON), not the parser's: the prompt differs from the real one
  const line = Buffer.from(bt('Task received. Prompt: caf\u00e9.') + '\n');
  const cut = line.indexOf(0xc3) + 1;
  const e = parseBytes(pm2JsonMode(line, [cut, 1000])).events[0]!;
  expect(e.long!.toString()).toBe('caf\ufffd\ufffd');
});

test('the sample files: every task prompt read, in any mode, is a whole one', async () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const { blake3 } = require('hash-wasm') as typeof import('hash-wasm');
  const dir = '/work/shared/samples';
  if (!fs.existsSync(dir)) return;
  const counts: Record<string, number> = {};
  for (const mode of ['pm2-plain', 'pm2-json', 'pm2-date-prefix']) {
    const { events, parser } = parseBytes(fs.readFileSync(`${dir}/${mode}/miner-sn17-mainnet-out.log`));
    const ids = new Set(events.filter((e) => e.type === 'feedback').map((e) => e.fields.log_id));
    let linked = 0;
    for (const e of taskEvents(events)) {
      const p = e.long!.toString('latin1');
      if (/^iVBOR/.test(p)) {
        // a whole PNG: signature first, IEND chunk last
        const png = Buffer.from(p, 'base64');
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(png.subarray(png.length - 8, png.length - 4).toString()).toBe('IEND');
        expect(/^[A-Za-z0-9+/]+=*$/.test(p)).toBe(true);
        if (ids.has(`image:${await blake3(e.long!)}`)) linked++;
      } else if (ids.has(p.length > 100 ? p.slice(0, 97) + '...' : p)) linked++;
    }
    expect(events.filter((e) => e.damaged && (e.type === 'task_received' || e.type === 'generating')).every((e) => e.long === null)).toBe(true);
    if (mode !== 'pm2-date-prefix') expect(parser.stats.damaged).toBe(0);
    counts[`${mode} task events`] = taskEvents(events).length;
    counts[`${mode} linked to a feedback log id`] = linked;
    counts[`${mode} damaged`] = parser.stats.damaged;
  }
  expect(counts['pm2-plain task events']).toBe(12);
  expect(counts['pm2-json task events']).toBe(12);
  expect(counts['pm2-date-prefix damaged']).toBeGreaterThan(0);
  console.log('samples:', counts);
});
