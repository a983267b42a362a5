/**
 * quantiles.ts finds each percentile by the values' bits, over passes, instead of sorting: it must give
 * what sorting gives (nearest rank), for any doubles, any groups, with every value gathered at once or
 * found digit by digit (ties, negatives, zeros of both signs, subnormals, infinities, values a bit apart).
 */
import fc from 'fast-check';
import { distributions, type Dist } from '../../src/query/quantiles';

function bySorting(values: number[]): Dist {
  const s = Float64Array.from(values).sort();
  const rank = (p: number): number => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
  return { n: s.length, mean: values.reduce((a, b) => a + b, 0) / s.length, min: s[0]!, p50: rank(50), p90: rank(90), p99: rank(99), max: s[s.length - 1]! };
}

function expectMean(got: number, want: number): void {
  if (Number.isFinite(want) && Number.isFinite(got)) expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
  else expect(got).toBe(want);
}

const unsignedZeros = (d: Dist): Dist => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v === 0 ? 0 : v])) as unknown as Dist;

const value = fc.oneof(
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, 1, -1, 0.1, 0.5, Number.MIN_VALUE, -Number.MIN_VALUE, Infinity, -Infinity, 1e-300),
  // neighbours: the same high word, the low word apart
  fc.integer({ min: 0, max: 1000 }).map((k) => 0.73 + k * Number.EPSILON),
);

test('the percentiles by bits are those by sorting, per group, however many passes it takes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(value, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 400 }), fc.constantFrom(1, 2, 7, 4096), (rows, gatherAt) => {
      const got = distributions((each) => rows.forEach(([v, g]) => each(v, g)), gatherAt);
      const groups = new Map<number, number[]>();
      for (const [v, g] of rows) groups.set(g, [...(groups.get(g) ?? []), v]);
      expect([...got.keys()].sort()).toEqual([...groups.keys()].sort());
      for (const [g, values] of groups) {
        const want = bySorting(values);
        // -0 and 0 are one value (JSON writes both 0); the mean is summed compensated, the model's is not
        const d = got.get(g)!;
        expect(unsignedZeros({ ...d, mean: 0 })).toEqual(unsignedZeros({ ...want, mean: 0 }));
        expectMean(d.mean!, want.mean!);
      }
    }),
    { numRuns: 300 },
  );
});

test('many values, few distinct: found without gathering them (200,000 values, at most a pass a digit)', () => {
  let passes = 0;
  const n = 200_000;
  const at = (i: number): number => (i % 10 === 0 ? 0 : (i * 7919) % 1000) / 1000;
  const got = distributions((each) => {
    passes++;
    for (let i = 0; i < n; i++) each(at(i), 0);
  }).get(0)!;
  const want = bySorting(Array.from({ length: n }, (_, i) => at(i)));
  expect({ ...got, mean: 0 }).toEqual({ ...want, mean: 0 });
  expectMean(got.mean!, want.mean!);
  expect(passes).toBeLessThanOrEqual(1 + 6);
});
