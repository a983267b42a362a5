/**
 * The miner's header time has no zone: it is the local time of the miner's host. Converting it to
 * UTC needs the zone (configurable; default the host's). In the hour a DST change repeats, a local
 * time is ambiguous: a zoned PM2 time of the same line, when there is one, picks the right instant;
 * else the order of the file's lines does.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Zones read without Intl: the first use of a zone's formatter maps ICU's data (6.4 MB of RSS, 14 ms). */
const UTC_ZONES = new Set(['UTC', 'Etc/UTC']);

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function hostTimeZone(): string {
  const tz = process.env.TZ;
  if (tz !== undefined && UTC_ZONES.has(tz)) return tz;
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Throws a RangeError for an unknown IANA zone name; used to validate the config. */
export function checkTimeZone(timeZone: string): void {
  if (!UTC_ZONES.has(timeZone)) formatter(timeZone);
}

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (positive east of Greenwich). */
function offsetAt(timeZone: string, utcMs: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?: ?(Z|[+-]\d{2}:?\d{2}))?$/;

function fieldsToUtc(m: RegExpExecArray): number {
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms);
}

function zoneToMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60000;
}

/** Parses a time with an explicit zone (PM2's prefix, JSON timestamp); null when it has none. */
export function parseZonedTime(text: string): number | null {
  const m = TIME.exec(text);
  if (!m || !m[8]) return null;
  return fieldsToUtc(m) - zoneToMs(m[8]);
}

const offsetCache = new Map<string, number[]>();

/**
 * The zone offsets that can map this local minute to an instant: one, or two in a repeated hour,
 * or (a skipped minute) the offset in force just before. Zone rules change only at minute
 * boundaries, so one computation serves every line of that minute.
 */
function candidateOffsets(timeZone: string, minuteText: string, wall: number): number[] {
  if (UTC_ZONES.has(timeZone)) return [0];
  // One entry per hour when the zone's offset is the same all hour (almost always), else per minute.
  const hourKey = `${timeZone}|${minuteText.slice(0, 13)}`;
  const hourly = offsetCache.get(hourKey);
  if (hourly) return hourly;
  const key = `${timeZone}|${minuteText}`;
  let offs = offsetCache.get(key);
  if (!offs) {
    const found = new Set<number>();
    for (const probe of [wall - 43200000, wall, wall + 43200000]) {
      const off = offsetAt(timeZone, probe);
      if (offsetAt(timeZone, wall - off) === off) found.add(off);
    }
    // larger offset first = earlier instant first
    offs = found.size ? [...found].sort((a, b) => b - a) : [offsetAt(timeZone, wall - 43200000)];
    if (offsetCache.size > 50000) offsetCache.clear();
    offsetCache.set(key, offs);
    const hourStart = wall - (wall % 3600000);
    const steady = offs.length === 1 && offsetAt(timeZone, hourStart - offs[0]!) === offs[0] && offsetAt(timeZone, hourStart + 3600000 - 1 - offs[0]!) === offs[0];
    if (steady) offsetCache.set(hourKey, offs);
  }
  return offs;
}

/** Lines of one file may come a little out of order (threads): within this, a time is not "before" the last. */
const ORDER_SLACK_MS = 5 * 60_000;

/**
 * UTC milliseconds of a local time text like `2025-11-12 21:30:45.123` in `timeZone`. In the hour
 * a DST change repeats, `hintUtcMs` (a zoned time for the same line) picks the instant; else the
 * order of the lines does: the earlier instant unless it lies before `previousUtcMs` (the file's
 * previous line), then the later one. A local time skipped by DST is taken as if the clock had not moved.
 */
export function localTimeToUtc(text: string, timeZone: string, hintUtcMs: number | null = null, previousUtcMs: number | null = null): number {
  const m = TIME.exec(text);
  if (!m) return Number.NaN;
  if (m[8]) return fieldsToUtc(m) - zoneToMs(m[8]);
  const wall = fieldsToUtc(m);
  const list = candidateOffsets(timeZone, text.slice(0, 16), wall).map((off) => wall - off);
  if (list.length === 1) return list[0]!;
  if (hintUtcMs !== null) return list.reduce((best, c) => (Math.abs(c - hintUtcMs) < Math.abs(best - hintUtcMs) ? c : best));
  if (previousUtcMs !== null) return list.find((c) => c >= previousUtcMs - ORDER_SLACK_MS) ?? list[list.length - 1]!;
  return list[0]!;
}

/** ISO-8601 UTC with milliseconds and `Z`, as records carry times. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
