/** The offset of a source's clock against the miner's, measured from lines read live. */
import fc from 'fast-check';
import { ClockSkew, settle } from '../../src/pipeline/clock-skew';

const MIN = 60_000;
const HOUR = 60 * MIN;

test('settle: jitter is 0, near a quarter hour is that quarter hour, else the measure to the second', () => {
  expect(settle(90_000, 2 * MIN)).toBe(0);
  expect(settle(-119_999, 2 * MIN)).toBe(0);
  expect(settle(3 * HOUR + 40_000, 2 * MIN)).toBe(3 * HOUR);
  expect(settle(-3 * HOUR - 119_000, 2 * MIN)).toBe(-3 * HOUR);
  expect(settle(5 * HOUR + 30 * MIN + 10_000, 2 * MIN)).toBe(5.5 * HOUR);
  expect(settle(7 * MIN + 12_400, 2 * MIN)).toBe(7 * MIN + 12_000);
});

test('a miner line read long ago is nothing to compare with: over a minute for the first sample, over 10 s for later ones', () => {
  const skew = new ClockSkew();
  expect(skew.sample(10 * HOUR, 1_000_000, 0, 1_000_000 - 61_000)).toBe(false);
  expect(skew.offsetMs).toBe(0);
  expect(skew.sample(3 * HOUR + 30_000, 1_000_000, 0, 1_000_000 - 30_000)).toBe(true);
  expect(skew.offsetMs).toBe(3 * HOUR);
  expect(skew.sample(5 * HOUR + 11_000, 2_000_000, 0, 2_000_000 - 11_000)).toBe(false);
  expect(skew.offsetMs).toBe(3 * HOUR);
});

test('the offset an earlier run measured holds until lines say otherwise', () => {
  const skew = new ClockSkew(3 * HOUR);
  expect(skew.offsetMs).toBe(3 * HOUR);
  const wall = 5_000_000;
  expect(skew.sample(wall + 1000, wall, wall, wall - 500)).toBe(true);
  expect(skew.offsetMs).toBe(0);
});

/**
 * Lines of a source whose clock runs `offset` ahead, read live with up to `jitter` of delay, against a
 * miner whose newest line may be up to `minerGap` old: the offset found is the true one for a whole
 * quarter hour (zones), within a second plus the noise otherwise, and 0 for clocks that agree.
 */
test('property: from the first sample on, the offset is the true one (quarter hours exact, aligned clocks 0)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: -12 * 4, max: 14 * 4 }).map((q) => q * 15 * MIN),
        fc.integer({ min: 3 * MIN, max: 10 * HOUR }).map((ms) => (ms % (15 * MIN) > 3 * MIN && ms % (15 * MIN) < 12 * MIN ? ms : 0)),
      ),
      fc.array(fc.record({ delay: fc.integer({ min: 0, max: 2000 }), minerAge: fc.integer({ min: 0, max: 30_000 }), step: fc.integer({ min: 1, max: 60_000 }) }), { minLength: 1, maxLength: 40 }),
      (offset, reads) => {
        const skew = new ClockSkew();
        let wall = 1_700_000_000_000;
        for (const r of reads) {
          wall += r.step;
          const written = wall - r.delay; // the line's own time, in the source's clock: offset ahead
          const minerRead = wall - r.minerAge;
          skew.sample(written + offset, wall, minerRead, minerRead);
          if (offset % (15 * MIN) === 0) expect(skew.offsetMs).toBe(offset);
          else expect(Math.abs(skew.offsetMs - offset)).toBeLessThanOrEqual(32_000 + 1000);
        }
      },
    ),
    { numRuns: 300 },
  );
});
