/** The endpoints' fit of the attribution search, against every assignment tried by brute force. */
import fc from 'fast-check';
import { fitsOnEndpoints, type Span } from '../../src/assemble/tracker/attribution/endpoint-fit';

const spanArb = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 15 })).map(([from, len]): Span => [from, from + len]);
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
        fc.array(fc.array(spanArb, { maxLength: 3 }), { minLength: 1, maxLength: 4 }),
        fc.array(spanArb, { maxLength: 4 }),
        fc.integer({ min: 0, max: 2 }),
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
