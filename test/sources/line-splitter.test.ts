import * as fc from 'fast-check';
import { LineSplitter } from '../../src/sources/line-splitter';

interface Out {
  lines: { text: string; offset: number; end: number }[];
  skipped: { offset: number; length: number; end: number }[];
}

function run(chunks: Buffer[], max = 1024): Out & { splitter: LineSplitter } {
  const s = new LineSplitter(max);
  const out: Out = { lines: [], skipped: [] };
  let at = 0;
  for (const c of chunks) {
    s.push(
      c,
      at,
      (b, offset, end) => out.lines.push({ text: b.toString('latin1'), offset, end }),
      (offset, length, end) => out.skipped.push({ offset, length, end }),
    );
    at += c.length;
  }
  return { ...out, splitter: s };
}

describe('LineSplitter', () => {
  test('complete lines only: a partial last line waits for its newline', () => {
    const r = run([Buffer.from('a\nbc\nde')]);
    expect(r.lines).toEqual([
      { text: 'a', offset: 0, end: 2 },
      { text: 'bc', offset: 2, end: 5 },
    ]);
    expect(r.splitter.pendingBytes()).toBe(2);
  });

  test('a newline split across chunks, and a file growing one byte at a time', () => {
    const text = 'first line\r\nsecond\n\nthird\n';
    const bytes = Buffer.from(text);
    const oneByOne = run([...bytes].map((b) => Buffer.from([b])));
    const whole = run([bytes]);
    expect(oneByOne.lines).toEqual(whole.lines);
    expect(whole.lines.map((l) => l.text)).toEqual(['first line', 'second', '', 'third']);
    expect(whole.lines[0]).toEqual({ text: 'first line', offset: 0, end: 12 });
    // CR at the end of one chunk, LF at the start of the next
    const split = run([Buffer.from('x\r'), Buffer.from('\ny\n')]);
    expect(split.lines.map((l) => l.text)).toEqual(['x', 'y']);
  });

  test('invalid UTF-8 passes through as bytes', () => {
    const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a]);
    const s = new LineSplitter();
    const got: Buffer[] = [];
    s.push(bad, 0, (b) => got.push(Buffer.from(b)), () => {});
    expect(got[0]).toEqual(Buffer.from([0xff, 0xfe, 0xc3, 0x28]));
  });

  test('leading NULs (copy-truncate with a stale writer offset) are skipped and counted', () => {
    const r = run([Buffer.concat([Buffer.alloc(5), Buffer.from('ok\n'), Buffer.alloc(3)]), Buffer.concat([Buffer.alloc(2), Buffer.from('b\n')])]);
    expect(r.lines).toEqual([
      { text: 'ok', offset: 5, end: 8 },
      { text: 'b', offset: 13, end: 15 },
    ]);
    expect(r.splitter.nulBytes).toBe(10);
  });

  test('a line over the maximum is skipped with its offset, reading resumes after its newline', () => {
    const long = Buffer.alloc(3000, 'x');
    const r = run([Buffer.from('a\n'), long.subarray(0, 1000), long.subarray(1000), Buffer.from('\nb\n')], 1024);
    expect(r.lines.map((l) => l.text)).toEqual(['a', 'b']);
    expect(r.skipped).toEqual([{ offset: 2, length: 3000, end: 3003 }]);
    expect(r.splitter.pendingBytes()).toBe(0);
    // exactly the maximum is kept
    const edge = run([Buffer.alloc(1024, 'y'), Buffer.from('\n')], 1024);
    expect(edge.lines[0]!.text.length).toBe(1024);
  });

  test('1 B, 1 MB and 70 MB (skipped) lines mixed, the long line never held whole', () => {
    const max = 64 * 1024 * 1024;
    const s = new LineSplitter(max);
    const got: { len: number; offset: number }[] = [];
    const skipped: { offset: number; length: number }[] = [];
    const chunk = Buffer.alloc(1024 * 1024, 'z');
    let at = 0;
    const feed = (b: Buffer): void => {
      s.push(
        b,
        at,
        (l, offset) => got.push({ len: l.length, offset }),
        (offset, length) => skipped.push({ offset, length }),
      );
      at += b.length;
    };
    feed(Buffer.from('a\n'));
    feed(chunk);
    feed(Buffer.from('\n'));
    const longStart = at;
    for (let i = 0; i < 70; i++) {
      feed(chunk);
      expect(s.pendingBytes()).toBeLessThanOrEqual(max);
    }
    feed(Buffer.from('\nb\n'));
    expect(got).toEqual([
      { len: 1, offset: 0 },
      { len: 1024 * 1024, offset: 2 },
      { len: 1, offset: longStart + 70 * 1024 * 1024 + 1 },
    ]);
    expect(skipped).toEqual([{ offset: longStart, length: 70 * 1024 * 1024 }]);
  });

  test('finish gives out an unterminated last line', () => {
    const s = new LineSplitter();
    const got: string[] = [];
    s.push(Buffer.from('a\nlast'), 0, (b) => got.push(b.toString()), () => {});
    s.finish(6, (b) => got.push(b.toString()), () => {});
    expect(got).toEqual(['a', 'last']);
  });
});

describe('a reader that reuses its chunk buffer (ingest)', () => {
  test('property: lines spanning chunks are carried by the splitter, so the same chunk buffer can take every read', () => {
    fc.assert(
      fc.property(
        // now and then a line past the 64 KB a carry keeps: the follower's line then takes the carry itself
        fc.array(
          fc.oneof(
            { arbitrary: fc.string({ maxLength: 40 }), weight: 10 },
            { arbitrary: fc.string({ minLength: 200, maxLength: 900 }), weight: 10 },
            { arbitrary: fc.string({ minLength: 1, maxLength: 3 }).map((x) => x.repeat(30_000)), weight: 1 },
          ),
          { maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (texts, sizes, own) => {
          const input = Buffer.from(texts.map((t) => t.replace(/\n/g, ' ')).join('\n') + '\n', 'latin1');
          const want = run([input], 1 << 20).lines;
          const s = new LineSplitter(1 << 20, own);
          const scratch = Buffer.alloc(300);
          const got: Out['lines'] = [];
          for (let at = 0, k = 0; at < input.length; k++) {
            const n = Math.min(sizes[k % sizes.length]!, input.length - at);
            input.copy(scratch, 0, at, at + n);
            const fresh: { view: Buffer; text: string }[] = [];
            s.push(
              scratch.subarray(0, n),
              at,
              (b, offset, end) => {
                got.push({ text: b.toString('latin1'), offset, end });
                fresh.push({ view: b, text: b.toString('latin1') });
              },
              () => {},
            );
            // a push's lines are intact until the next push: holding the next line did not touch them
            for (const l of fresh) expect(l.view.toString('latin1')).toBe(l.text);
            scratch.fill('Z');
            at += n;
          }
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });
});
