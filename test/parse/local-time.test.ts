/** The miner's zone-less header time -> UTC, across DST changes; the zoned PM2 prefix settles the repeated hour. */
import { checkTimeZone, hostTimeZone, localTimeToUtc, parseZonedTime } from '../../src/parse';
import { bt, parseBytes, parseLines } from './helpers';

const utc = (s: string) => Date.parse(s);

describe('localTimeToUtc', () => {
  test('UTC is read without Intl (its first use maps ICU data, 6.4 MB): the check, the host zone under TZ=UTC, the conversion', () => {
    const made = jest.spyOn(Intl, 'DateTimeFormat');
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      checkTimeZone('UTC');
      checkTimeZone('Etc/UTC');
      expect(hostTimeZone()).toBe('UTC');
      expect(localTimeToUtc('2025-11-12 21:30:45.123', 'Etc/UTC')).toBe(utc('2025-11-12T21:30:45.123Z'));
      expect(made).not.toHaveBeenCalled();
      expect(() => checkTimeZone('Mars/Olympus_Mons')).toThrow(RangeError);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
      made.mockRestore();
    }
  });

  test('ordinary times', () => {
    expect(localTimeToUtc('2025-11-12 21:30:45.123', 'UTC')).toBe(utc('2025-11-12T21:30:45.123Z'));
    expect(localTimeToUtc('2025-07-01 12:00:00.000', 'Europe/Berlin')).toBe(utc('2025-07-01T10:00:00Z'));
    expect(localTimeToUtc('2025-01-01 12:00:00.000', 'America/New_York')).toBe(utc('2025-01-01T17:00:00Z'));
  });

  test('Europe/Berlin: the repeated hour (2025-10-26 02:xx), both instants', () => {
    const first = utc('2025-10-26T00:30:00.500Z'); // 02:30 CEST
    const second = utc('2025-10-26T01:30:00.500Z'); // 02:30 CET
    expect(localTimeToUtc('2025-10-26 02:30:00.500', 'Europe/Berlin')).toBe(first); // no hint: the earlier
    expect(localTimeToUtc('2025-10-26 02:30:00.500', 'Europe/Berlin', utc('2025-10-26T00:30:01Z'))).toBe(first);
    expect(localTimeToUtc('2025-10-26 02:30:00.500', 'Europe/Berlin', utc('2025-10-26T01:30:01Z'))).toBe(second);
  });

  test('America/New_York: the repeated hour (2025-11-02 01:xx), both instants', () => {
    const first = utc('2025-11-02T05:15:00Z'); // 01:15 EDT
    const second = utc('2025-11-02T06:15:00Z'); // 01:15 EST
    expect(localTimeToUtc('2025-11-02 01:15:00.000', 'America/New_York')).toBe(first);
    expect(localTimeToUtc('2025-11-02 01:15:00.000', 'America/New_York', second + 900)).toBe(second);
  });

  test('skipped hours are read as if the clock had not moved', () => {
    // Berlin 2025-03-30 02:30 does not exist: +01:00 still -> 01:30Z (= 03:30 CEST)
    expect(localTimeToUtc('2025-03-30 02:30:00.000', 'Europe/Berlin')).toBe(utc('2025-03-30T01:30:00Z'));
    // New York 2025-03-09 02:30 does not exist: -05:00 still -> 07:30Z (= 03:30 EDT)
    expect(localTimeToUtc('2025-03-09 02:30:00.000', 'America/New_York')).toBe(utc('2025-03-09T07:30:00Z'));
    // and the minutes around it are right
    expect(localTimeToUtc('2025-03-30 01:59:59.999', 'Europe/Berlin')).toBe(utc('2025-03-30T00:59:59.999Z'));
    expect(localTimeToUtc('2025-03-30 03:00:00.000', 'Europe/Berlin')).toBe(utc('2025-03-30T01:00:00Z'));
  });

  test('zoned PM2 times', () => {
    expect(parseZonedTime('2025-11-12 21:30:45 +00:00')).toBe(utc('2025-11-12T21:30:45Z'));
    expect(parseZonedTime('2025-11-12T21:30:45.500Z')).toBe(utc('2025-11-12T21:30:45.500Z'));
    expect(parseZonedTime('2025-10-26 02:30:05 +0100')).toBe(utc('2025-10-26T01:30:05Z'));
    expect(parseZonedTime('2025-11-12 21:30:45')).toBeNull();
  });
});

describe('event times through the parser', () => {
  const line = bt('Generation completed. Size: 1', { time: '2025-10-26 02:30:00.500' });

  test('plain mode: the configured zone, the earlier instant in the repeated hour', () => {
    const e = parseLines([line], undefined, undefined, 'Europe/Berlin').events[0]!;
    expect(e.timeText).toBe('2025-10-26 02:30:00.500');
    expect(e.timeMs).toBe(utc('2025-10-26T00:30:00.500Z'));
  });

  test('date mode: the zoned PM2 prefix picks the second 02:30', () => {
    const run = (prefix: string) => parseBytes(Buffer.from(`${prefix}: ${line}\n`), undefined, undefined, 'Europe/Berlin').events[0]!.timeMs;
    expect(run('2025-10-26 02:30:01 +01:00')).toBe(utc('2025-10-26T01:30:00.500Z'));
    expect(run('2025-10-26 02:30:01 +02:00')).toBe(utc('2025-10-26T00:30:00.500Z'));
  });

  test('JSON mode: the ISO timestamp picks it too', () => {
    const obj = JSON.stringify({ message: line + '\n', timestamp: '2025-10-26T01:30:00.900Z' }) + '\n';
    expect(parseBytes(Buffer.from(obj), undefined, undefined, 'Europe/Berlin').events[0]!.timeMs).toBe(utc('2025-10-26T01:30:00.500Z'));
  });
});
