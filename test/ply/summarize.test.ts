import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outputFields, summarizePly, summarizePlyBuffer, type PlySummary } from '../../src/ply';
import { emptyRecord, GenerationRecordSchema } from '../../src/schema/record';
import {
  faceElement,
  makePly,
  naiveSummaries,
  trellisValue,
  trellisVertex,
  type Format,
  type GenElement,
} from './helpers/make-ply';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'ply');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ply-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function put(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Min/max/counts/shares must be identical; accumulated means and stds within 1e-9 relative. */
function expectSameStats(got: Record<string, number>, want: Record<string, number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [key, w] of Object.entries(want)) {
    const g = got[key]!;
    if (/_(mean|std)$/.test(key)) {
      const ok = Math.abs(g - w) <= 1e-9 * Math.max(Math.abs(g), Math.abs(w)) + 1e-15;
      if (!ok) throw new Error(`${key}: got ${g}, python ${w}`);
    } else if (g !== w) {
      throw new Error(`${key}: got ${g}, python ${w} (must be identical)`);
    }
  }
}

function expectSameSummary(got: PlySummary, want: ReturnType<typeof naiveSummaries>[number]): void {
  const { gaussian_stats, ...rest } = got;
  const { gaussian_stats: wantStats, ...wantRest } = want;
  expect(rest).toEqual(wantRest);
  expectSameStats(gaussian_stats, wantStats);
}

/** Summarises each file three ways (default chunks, tiny odd chunks, in memory) and checks they agree. */
async function summarizeAllWays(file: string): Promise<PlySummary> {
  const s = await summarizePly(file);
  expect(await summarizePly(file, { chunkBytes: 97 })).toEqual(s);
  expect(summarizePlyBuffer(fs.readFileSync(file), file)).toEqual(s);
  return s;
}

describe('the fixtures (upstream 14-property layout)', () => {
  const files = ['monkey.ply', 'hamburger.ply'].map((f) => path.join(FIXTURES, f));

  test('every key matches the independent Python reader', async () => {
    const want = naiveSummaries(files);
    for (const [i, file] of files.entries()) expectSameSummary(await summarizeAllWays(file), want[i]!);
  });

  test('the figures the record carries', async () => {
    const monkey = await summarizePly(files[0]!);
    expect(monkey.num_gaussians).toBe(36039);
    expect(monkey.file_size_bytes).toBe(2018545);
    expect(monkey.file_size_mb).toBe(2018545 / 1048576);
    expect(monkey.ply_file_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const hamburger = await summarizePly(files[1]!);
    expect(hamburger.num_gaussians).toBe(52709);
    // opacity_mean is the raw (logit) mean, as in the spec; the activated mean is in 0..1.
    expect(hamburger.gaussian_stats.opacity_mean).toBeCloseTo(0.67572446, 7);
    expect(hamburger.gaussian_stats.opacity_activated_mean).toBeGreaterThan(0);
    expect(hamburger.gaussian_stats.opacity_activated_mean).toBeLessThan(1);
    expect(hamburger.gaussian_stats.nan_count).toBe(0);
  });

  test('outputFields fill generation.output of a valid record (with and without opacity)', async () => {
    const xyzOnly = makePly('binary_little_endian', [{ ...trellisVertex(5), props: trellisVertex(5).props.slice(0, 3) }]);
    for (const s of [await summarizePly(files[1]!), summarizePlyBuffer(xyzOnly)]) {
      const record = emptyRecord({
        generation_id: '0b0a1e53-8c1f-5d0e-9c55-1b2f0e0c9a11',
        timestamp: '2025-01-02T03:04:05.678Z',
        host: 'test',
        miner_app: 'miner',
        collector_version: '0.1.0',
      });
      Object.assign(record.generation.output, outputFields(s));
      const output = GenerationRecordSchema.parse(record).generation.output;
      expect(output.num_gaussians).toBe(s.num_gaussians);
      expect(output.ply_file_hash).toBe(s.ply_file_hash);
      expect(output.gaussian_stats).toEqual({ opacity_mean: null, ...s.gaussian_stats });
    }
  });
});

describe('a 400,000-Gaussian TRELLIS-layout file', () => {
  const N = 400_000;
  let file: string;
  beforeAll(() => {
    file = put('trellis-400k.ply', makePly('binary_little_endian', [trellisVertex(N)]));
  });

  test('summarised in one pass, matching Python on every key', async () => {
    const s = await summarizePly(file);
    expect(s.num_gaussians).toBe(N);
    expect(s.file_size_bytes).toBe(fs.statSync(file).size);
    expect(s.vertex_properties).toHaveLength(17);
    expectSameSummary(s, naiveSummaries([file])[0]!);
    expect(await summarizePly(file, { chunkBytes: 1000 })).toEqual(s);
  });

  test('the bounding box follows from the generating formula', async () => {
    const s = await summarizePly(file);
    for (const [axis, ch] of [['x', 0], ['y', 1], ['z', 2]] as const) {
      let min = Infinity;
      let max = -Infinity;
      for (let r = 0; r < N; r++) {
        const v = Math.fround(trellisValue(axis, r, ch));
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(s.gaussian_stats[`bbox_min_${axis}`]).toBe(min);
      expect(s.gaussian_stats[`bbox_max_${axis}`]).toBe(max);
      expect(s.gaussian_stats[`extent_${axis}`]).toBe(max - min);
    }
    // opacity is uniform on [-6, 8] logits: sigmoid < 0.05 below logit(0.05) = -2.944.
    const share = (Math.log(0.05 / 0.95) + 6) / 14;
    expect(s.gaussian_stats.near_transparent_share).toBeCloseTo(share, 2);
  });
});

describe('formats and layouts', () => {
  const N = 3000;
  const cases: Array<[string, Format, GenElement[]]> = [
    ['big-endian', 'binary_big_endian', [trellisVertex(N)]],
    ['ascii', 'ascii', [trellisVertex(N)]],
    ['double properties', 'binary_little_endian', [trellisVertex(N, 'double')]],
    ['face list before vertex (LE)', 'binary_little_endian', [faceElement(50), trellisVertex(N)]],
    ['face list after vertex (BE)', 'binary_big_endian', [trellisVertex(N), faceElement(50, 'int', 'uint')]],
    ['faces before and after (ascii)', 'ascii', [faceElement(7), trellisVertex(N), faceElement(5, 'ushort', 'short')]],
    [
      'mixed types, aliases and a list inside vertex',
      'binary_little_endian',
      [
        {
          name: 'vertex',
          count: N,
          props: [
            { name: 'x', type: 'float64', value: (r) => trellisValue('x', r, 0) },
            { name: 'red', type: 'uchar', value: (r) => r % 256 },
            { name: 'y', type: 'float32', value: (r) => trellisValue('y', r, 1) },
            { name: 'z', type: 'int16', value: (r) => (r % 2001) - 1000 },
            { name: 'tags', type: 'int8', list: { countType: 'uint8', length: (r) => r % 3 }, value: (r, i) => i - r % 2 },
            { name: 'opacity', type: 'char', value: (r) => (r % 13) - 6 },
            { name: 'scale_0', type: 'short', value: (r) => -(r % 9) },
            { name: 'scale_1', type: 'int', value: (r) => -(r % 11) },
            { name: 'scale_2', type: 'uint8', value: (r) => r % 2 },
            { name: 'f_dc_0', type: 'ushort', value: (r) => r % 7 },
            { name: 'f_dc_1', type: 'uint', value: (r) => r % 5 },
            { name: 'f_dc_2', type: 'int32', value: (r) => -(r % 3) },
          ],
        },
        faceElement(3),
      ],
    ],
  ];
  const files = cases.map(([name, format, elements], i) => [name, i, format, elements] as const);

  test.each(files)('%s matches Python', async (_name, i, format, elements) => {
    const file = put(`layout-${i}.ply`, makePly(format, elements, ['generated by the test']));
    const s = await summarizeAllWays(file);
    expect(s.num_gaussians).toBe(N);
    expect(s.format).toBe(format);
    expectSameSummary(s, naiveSummaries([file])[0]!);
  });

  test('the same values give the same stats in LE, BE and ASCII', async () => {
    const vertex = trellisVertex(2000, 'double'); // doubles print exactly in ASCII
    const [le, be, ascii] = await Promise.all(
      (['binary_little_endian', 'binary_big_endian', 'ascii'] as const).map((f) =>
        summarizePly(put(`same-${f}.ply`, makePly(f, [vertex]))),
      ),
    );
    expect(be!.gaussian_stats).toEqual(le!.gaussian_stats);
    expect(ascii!.gaussian_stats).toEqual(le!.gaussian_stats);
  });

  test('absent properties give no keys (a centres-only file)', async () => {
    const xyz: GenElement = {
      name: 'vertex',
      count: 10,
      props: ['x', 'y', 'z'].map((name, ch) => ({ name, type: 'float', value: (r: number) => trellisValue(name, r, ch) })),
    };
    const s = await summarizePly(put('xyz.ply', makePly('binary_little_endian', [xyz])));
    expect(Object.keys(s.gaussian_stats).sort()).toEqual(
      ['bbox_max_x', 'bbox_max_y', 'bbox_max_z', 'bbox_min_x', 'bbox_min_y', 'bbox_min_z', 'extent_x', 'extent_y', 'extent_z', 'nan_count'].sort(),
    );
  });

  test('CRLF header lines and comments are accepted', async () => {
    const good = makePly('binary_little_endian', [trellisVertex(5)], ['a comment']);
    const cut = good.indexOf('end_header\n') + 'end_header\n'.length;
    const crlf = Buffer.concat([Buffer.from(good.toString('latin1', 0, cut).replace(/\n/g, '\r\n'), 'latin1'), good.subarray(cut)]);
    expect(summarizePlyBuffer(crlf).gaussian_stats).toEqual(summarizePlyBuffer(good).gaussian_stats);
  });
});

describe('NaN and Infinity', () => {
  // Every 10th Gaussian has a NaN opacity, every 25th an infinite scale_1, every 1000th a NaN rot_0
  // (not a measured property: it stays in the stats).
  const N = 5000;
  const vertex = trellisVertex(N);
  vertex.props = vertex.props.map((p) => {
    if (p.name === 'opacity') return { ...p, value: (r: number) => (r % 10 === 3 ? NaN : trellisValue('opacity', r, 9)) };
    if (p.name === 'scale_1') return { ...p, value: (r: number) => (r % 25 === 4 ? Infinity : trellisValue('scale_1', r, 11)) };
    if (p.name === 'rot_0') return { ...p, value: (r: number) => (r % 1000 === 5 ? NaN : 0.5) };
    return p;
  });
  const bad = (r: number) => r % 10 === 3 || r % 25 === 4;
  const expected = Array.from({ length: N }, (_, r) => r).filter(bad).length;

  test.each(['binary_little_endian', 'ascii'] as const)('%s: counted in nan_count and left out of the stats', async (format) => {
    const file = put(`nan-${format}.ply`, makePly(format, [vertex]));
    const s = await summarizeAllWays(file);
    expect(s.num_gaussians).toBe(N);
    expect(s.gaussian_stats.nan_count).toBe(expected);
    for (const v of Object.values(s.gaussian_stats)) expect(Number.isFinite(v)).toBe(true);
    expectSameSummary(s, naiveSummaries([file])[0]!);
  });

  test('when no Gaussian is finite, nan_count is the only key', async () => {
    const allNan = trellisVertex(4);
    allNan.props = allNan.props.map((p) => (p.name === 'x' ? { ...p, value: () => NaN } : p));
    const s = summarizePlyBuffer(makePly('binary_little_endian', [allNan]));
    expect(s.num_gaussians).toBe(4);
    expect(s.gaussian_stats).toEqual({ nan_count: 4 });
  });

  test('an activated figure that overflows is left out, not stored as Infinity', async () => {
    const huge = trellisVertex(3);
    huge.props = huge.props.map((p) => (p.name === 'scale_0' ? { ...p, value: () => 1000 } : p));
    const s = summarizePlyBuffer(makePly('binary_little_endian', [huge]));
    expect(s.gaussian_stats.scale_0_mean).toBe(1000);
    expect(s.gaussian_stats).not.toHaveProperty('scale_0_activated_mean');
    expect(s.gaussian_stats).toHaveProperty('scale_1_activated_mean');
  });
});
