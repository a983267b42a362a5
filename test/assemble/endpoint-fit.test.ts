/** The endpoints' fit of the attribution search, against every assignment tried by brute force. */
import fc from 'fast-check';
import { firstFit, fitsOnEndpoints, type Span } from '../../src/assemble/tracker/attribution/endpoint-fit';

const spanArb = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 15 })).map(([from, len]): Span => [from, from + len]);
/** Up to 4 endpoints' taken spans, and up to 2 loops beyond them. */
const takenArb = fc.array(fc.array(spanArb, { maxLength: 3 }), { minLength: 1, maxLength: 4 });
const spareArb = fc.integer({ min: 0, max: 2 });
const overlap = ([a, b]: Span, [c, d]: Span) => a < d && c < b;

/** Every way of putting each free span on a lane (the endpoints', then `spare` empty ones). */
function bruteForce(taken: Span[][], free: Span[], loops: number): boolean {
  const lanes = [...taken.map((l) => [...l]), ...Array.from({ length: Math.max(0, loops - taken.length) }, () => [] as Span[])];
  const go = (i: number): boolean => {
    if (i === free.length) return true;
    for (const lane of lanes) {
      if (lane.some((x) => overlap(x, free[i]!))) continue;
      lane.push(free[i]!);
      const ok = go(i + 1);
      lane.pop();
      if (ok) return true;
    }
    return false;
  };
  return go(0);
}

describe('fitsOnEndpoints', () => {
  it('agrees with trying every assignment (up to 4 endpoints, 2 loops beyond them, 4 spans to place)', () => {
    fc.assert(
      fc.property(
        takenArb,
        fc.array(spanArb, { maxLength: 4 }),
        spareArb,
        (taken, free, spare) => {
          const loops = taken.length + spare;
          const lanes = taken.map((l) => l.map((x): Span => [...x]));
          expect(fitsOnEndpoints(lanes, free, loops)).toBe(bruteForce(taken, free, loops));
        },
      ),
      { numRuns: 2000, seed: 20261205 },
    );
  });

  it('a span no endpoint has free for its whole time does not fit; a loop beyond them takes it', () => {
    const taken: Span[][] = [[[0, 10]], [[5, 20]]];
    expect(fitsOnEndpoints(taken, [[8, 12]], 2)).toBe(false);
    expect(fitsOnEndpoints(taken, [[8, 12]], 3)).toBe(true);
    expect(fitsOnEndpoints(taken, [[10, 12]], 2)).toBe(true);
  });
});

/** firstFit over the flat arrays endpointsKept fills: the taken spans on their lanes, then the free ones by start. */
function firstFitOf(taken: Span[][], free: Span[], loops: number): boolean {
  const placed = taken.flatMap((l, lane) => l.map((x) => ({ x, lane })));
  const all = [...placed, ...[...free].sort((a, b) => a[0] - b[0]).map((x) => ({ x, lane: -1 }))];
  const from = Float64Array.from(all.map((s) => s.x[0]));
  const to = Float64Array.from(all.map((s) => s.x[1]));
  const lane = Int32Array.from(all.map((s) => s.lane));
  return firstFit(from, to, lane, placed.length, all.length, Math.max(loops, taken.length));
}

describe('firstFit', () => {
  it('finds a fit only where there is one, and most of the fits there are (a first fit may miss one)', () => {
    let fits = 0;
    let found = 0;
    fc.assert(
      fc.property(
        takenArb,
        fc.array(spanArb, { maxLength: 5 }),
        spareArb,
        (taken, free, spare) => {
          const loops = taken.length + spare;
          const truth = bruteForce(taken, free, loops);
          const first = firstFitOf(taken, free, loops);
          if (first) expect(truth).toBe(true);
          fits += truth ? 1 : 0;
          found += first ? 1 : 0;
        },
      ),
      { numRuns: 3000, seed: 20261207 },
    );
    // what it misses is asked of fitsOnEndpoints: a first fit that found few would only cost time
    expect(found / fits).toBeGreaterThan(0.9);
  });

  it('a first fit that finds none proves nothing: fitsOnEndpoints is asked then', () => {
    // [0,14] takes lane 0 first, and [12,20] then fits nowhere (lane 1 is taken from 15); [0,14] on lane 1 leaves lane 0 to it
    const taken: Span[][] = [[], [[15, 30]]];
    const free: Span[] = [
      [0, 14],
      [12, 20],
    ];
    expect(firstFitOf(taken, free, 2)).toBe(false);
    expect(fitsOnEndpoints(taken, free, 2)).toBe(true);
  });
});
