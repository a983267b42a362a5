/** The report's pure parts: y ticks and the selection in words (the browser test covers the page). */
import { niceTicks, UNIT_TICKS } from '../../src/report/chart';
import { filterInWords, when } from '../../src/report/words';

describe('niceTicks', () => {
  test('counts get whole-number ticks, never the same label twice (issue #16: "0, 1, 1")', () => {
    expect(niceTicks(1, true)).toEqual([0, 1]);
    expect(niceTicks(2, true)).toEqual([0, 1, 2]);
    expect(niceTicks(3, true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(7, true)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, true)).toEqual([0, 1]);
    expect(niceTicks(1234, true)).toEqual([0, 500, 1000, 1500]);
    for (let max = 1; max < 5000; max += 7) {
      const t = niceTicks(max, true);
      expect(t.every(Number.isInteger)).toBe(true);
      expect(new Set(t.map(String)).size).toBe(t.length);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(max);
      expect(t.length).toBeLessThanOrEqual(7);
    }
  });

  test('seconds get 1/2/2.5/5 steps with exact labels', () => {
    expect(niceTicks(40, false)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0.04, false)).toEqual([0, 0.01, 0.02, 0.03, 0.04]);
    expect(niceTicks(0.3, false)).toEqual([0, 0.1, 0.2, 0.3]);
    for (let max = 0.001; max < 1000; max *= 1.37) {
      const t = niceTicks(max, false);
      expect(new Set(t.map(String)).size).toBe(t.length);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(max);
      expect(t.every((v) => String(v).length <= 8)).toBe(true);
    }
  });

  test('scores and rates: quarters', () => {
    expect(UNIT_TICKS).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
});

describe('filterInWords', () => {
  const day = (d: string): number => Date.parse(`${d}T00:00:00Z`);
  test('no filter: all records', () => {
    expect(filterInWords({})).toBe('all records');
  });
  test('the issue\'s example', () => {
    expect(filterInWords({ taskType: 'IMAGE-TO-3D', validator: 57, sinceMs: day('2025-11-01'), untilMs: day('2025-11-20'), acceptedOnly: true })).toBe('IMAGE-TO-3D only, validator 57, 2025-11-01 to 2025-11-20, accepted only');
  });
  test('every other filter, never JSON', () => {
    const words = filterInWords({ sinceMs: Date.parse('2025-11-13T06:30:00Z'), minScore: 0.7, minClip: 0.18, hosts: ['box-a', 'box-b'], outcomes: ['rejected', 'submit_failed'] });
    expect(words).toBe('since 2025-11-13 06:30 UTC, outcome rejected or submit_failed, validator score at least 0.7, CLIP score at least 0.18, hosts box-a and box-b');
    expect(filterInWords({ untilMs: day('2025-11-20'), hosts: ['box-a'] })).toBe('before 2025-11-20, host box-a');
    expect(filterInWords({ acceptedOnly: true, noInferred: true })).toBe('accepted only, no inferred links');
    expect(words).not.toMatch(/[{}"]/);
  });
  test('times: a date at midnight, else to the minute or second', () => {
    expect(when(day('2025-11-01'))).toBe('2025-11-01');
    expect(when(Date.parse('2025-11-01T10:00:05Z'))).toBe('2025-11-01 10:00:05 UTC');
  });
});
