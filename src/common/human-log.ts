/**
 * The human form of the collector's log: one pino entry (its JSON, parsed) -> exactly one line,
 * `2026-12-05 01:02:03.456 INFO  <msg> key=value key=value`, local time. A value is JSON-encoded only
 * when it would be ambiguous bare (empty, whitespace, quotes, backslashes, control characters);
 * objects and arrays are compact JSON. pino's own keys (level, time, msg, pid, hostname) are not
 * repeated as fields. Pure: no I/O, colour only when asked.
 */

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '34', 30: '32', 40: '33', 50: '31', 60: '35' };
const OWN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
const NEEDS_QUOTES = /[\s"'\\]|\p{Cc}/u;

const paint = (code: string, text: string) => `\u001b[${code}m${text}\u001b[0m`;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-12-05 01:02:03.456` in the host's time zone (what the miner's own lines use too). */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** One field value: bare when unambiguous, else JSON (always a single line: JSON escapes newlines). */
export function fieldValue(v: unknown): string {
  if (typeof v === 'string') return v === '' || NEEDS_QUOTES.test(v) ? JSON.stringify(v) : v;
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? String(v);
}

/** The entry as one line, with a trailing newline. */
export function humanLine(entry: Record<string, unknown>, colour = false): string {
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const label = (LABELS[level] ?? `L${level}`).padEnd(5);
  const time = localStamp(typeof entry.time === 'number' ? entry.time : Date.now());
  const msg = typeof entry.msg === 'string' ? entry.msg.replace(/\r?\n|\r/g, '\\n') : '';
  let line = colour ? `${paint('2', time)} ${paint(COLOURS[level] ?? '0', label)} ${msg}` : `${time} ${label} ${msg}`;
  for (const [key, v] of Object.entries(entry)) {
    if (OWN_KEYS.has(key) || v === undefined) continue;
    line += colour ? ` ${paint('2', `${key}=`)}${fieldValue(v)}` : ` ${key}=${fieldValue(v)}`;
  }
  return `${line}\n`;
}
