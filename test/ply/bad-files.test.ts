import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { CollectorError } from '../../src/common/errors';
import { summarizePly, summarizePlyBuffer, tryReadPlySummary } from '../../src/ply';
import { faceElement, makePly, plyHeader, trellisVertex } from './helpers/make-ply';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ply-bad-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = makePly('binary_little_endian', [trellisVertex(100)]);
const bodyStart = good.indexOf('end_header\n') + 'end_header\n'.length;
const RECORD = 17 * 4;
const header = (lines: string[]) => Buffer.from(['ply', ...lines, 'end_header', ''].join('\n'), 'latin1');
const withCount = (count: number) =>
  Buffer.concat([Buffer.from(good.toString('latin1', 0, bodyStart).replace('vertex 100', `vertex ${count}`), 'latin1'), good.subarray(bodyStart)]);

const CASES: Array<[string, Buffer, RegExp]> = [
  ['an empty file', Buffer.alloc(0), /not a PLY file/],
  ['a JSON file', Buffer.from('{"ply": true}\n'), /not a PLY file/],
  ['random bytes', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131) % 256)), /not a PLY file/],
  ['no end_header', Buffer.from('ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n'), /missing 'end_header'/],
  ['only the magic', Buffer.from('ply\n'), /missing 'end_header'/],
  ['an unknown type', header(['format binary_little_endian 1.0', 'element vertex 1', 'property half x']), /unknown property type.*half/],
  ['an unknown format', header(['format binary_middle_endian 1.0', 'element vertex 1', 'property float x']), /unknown format/],
  ['no format line', header(['element vertex 1', 'property float x']), /no 'format' line/],
  ['a bad count', header(['format ascii 1.0', 'element vertex -3', 'property float x']), /bad element count/],
  ['a property before any element', header(['format ascii 1.0', 'property float x', 'element vertex 1']), /property before any element/],
  ['a float list count', header(['format ascii 1.0', 'element vertex 1', 'property list float int idx']), /list count must be an integer/],
  ['an unknown keyword', header(['format ascii 1.0', 'elephant vertex 1']), /unknown keyword/],
  ['no vertex element', makePly('binary_little_endian', [faceElement(3)]), /expected one 'vertex' element, found 0/],
  ['0 Gaussians', makePly('binary_little_endian', [trellisVertex(0)]), /0 Gaussians/],
  ['a body cut inside a record', good.subarray(0, good.length - 10), /truncated body: the file ends in Gaussian 100 of 100/],
  ['a body missing its last record', good.subarray(0, good.length - RECORD), /truncated body: the file ends in Gaussian 100 of 100/],
  ['a header alone', good.subarray(0, bodyStart), /truncated body: the file ends in Gaussian 1 of 100/],
  ['a header claiming more Gaussians', withCount(150), /truncated body: the file ends in Gaussian 101 of 150/],
  ['a header claiming fewer Gaussians', withCount(60), /data after the last declared element/],
  ['trailing garbage', Buffer.concat([good, Buffer.from('junk')]), /data after the last declared element/],
  [
    'a face list cut short',
    makePly('binary_little_endian', [trellisVertex(2), faceElement(4)]).subarray(0, -3),
    /truncated body: the file ends in 'face' record 4 of 4/,
  ],
  [
    'an ASCII body cut short',
    makePly('ascii', [trellisVertex(10)]).subarray(0, -40),
    /truncated body: the file ends in Gaussian 10 of 10/,
  ],
  [
    'an ASCII word that is not a number',
    Buffer.from(plyHeader('ascii', [{ name: 'vertex', count: 2, props: [{ name: 'x', type: 'float', value: () => 0 }] }]) + '1.5\nabc\n'),
    /bad number 'abc' for property 'x' \(record 2\)/,
  ],
  [
    'an ASCII float in an integer property',
    Buffer.from(plyHeader('ascii', [{ name: 'vertex', count: 1, props: [{ name: 'red', type: 'uchar', value: () => 0 }] }]) + '1.5\n'),
    /bad integer '1.5'/,
  ],
];

describe('bad files give a BAD_PLY error value, never a crash', () => {
  test.each(CASES)('%s', async (name, bytes, message) => {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.ply`);
    fs.writeFileSync(file, bytes);
    for (const run of [
      () => summarizePly(file),
      () => summarizePly(file, { chunkBytes: 7 }),
      async () => summarizePlyBuffer(bytes, file),
    ]) {
      const err = await run().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CollectorError);
      expect((err as CollectorError).code).toBe('BAD_PLY');
      expect((err as CollectorError).message).toMatch(message);
      const line = (err as CollectorError).describe();
      expect(line).not.toContain('\n');
      expect(line).toContain(file);
    }
    const result = await tryReadPlySummary(file);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('BAD_PLY');
  });

  test('a missing file and a directory are errors with the fs code, as values', async () => {
    const missing = await tryReadPlySummary(path.join(dir, 'nope.ply'));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.describe()).toMatch(/opening the PLY failed: ENOENT/);
    const directory = await tryReadPlySummary(dir);
    expect(directory.ok).toBe(false);
    if (!directory.ok) expect(directory.error.describe()).toMatch(/EISDIR/);
  });

  test('a good file through tryReadPlySummary', async () => {
    const file = path.join(dir, 'good.ply');
    fs.writeFileSync(file, good);
    const result = await tryReadPlySummary(file);
    expect(result.ok && result.summary.num_gaussians).toBe(100);
  });
});

describe('damaged files (property-based)', () => {
  const samples = (['binary_little_endian', 'binary_big_endian', 'ascii'] as const).map((f) =>
    makePly(f, [faceElement(3, 'uchar', 'int'), trellisVertex(20), faceElement(2, 'int', 'ushort')]),
  );

  test('cut anywhere and with bytes overwritten: a summary or BAD_PLY, never another exception', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: samples.length - 1 }),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (which, cut, edits) => {
          const src = samples[which]!;
          const bytes = Buffer.from(src.subarray(0, cut % (src.length + 1)));
          for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
          try {
            const s = summarizePlyBuffer(bytes);
            expect(s.num_gaussians).toBeGreaterThan(0);
            for (const v of Object.values(s.gaussian_stats)) expect(Number.isFinite(v)).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(CollectorError);
            expect((err as CollectorError).code).toBe('BAD_PLY');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
