/** Text formatting shared by the commands (and the text report): tables, byte counts, durations. */
import type { StorageReport } from '../sinks/space';
import type { Config } from '../config';

/**
 * Rows as aligned columns: the first column left-aligned, the others right-aligned, two spaces apart.
 * The first row is the header, underlined with dashes unless `rule` is false.
 */
export function table(rows: string[][], { rule = true }: { rule?: boolean } = {}): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), ...(rule ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []), ...rows.slice(1).map(line)].join('\n') + '\n';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

/** One line for doctor and the command's last line: the guard's state. */
export function guardLine(r: StorageReport, config: Config): { ok: boolean; text: string } {
  if (r.freeBytes === null) return { ok: true, text: 'free space unknown (statfs refused)' };
  const ok = r.freeBytes >= config.minFreeBytes;
  return {
    ok,
    text: ok
      ? `storing blobs (free ${formatBytes(r.freeBytes)} >= minFreeBytes ${formatBytes(config.minFreeBytes)})`
      : `NOT storing images/PLYs: free ${formatBytes(r.freeBytes)} < minFreeBytes ${formatBytes(config.minFreeBytes)} (records say blobs_skipped disk_low)`,
  };
}

/** "12 s", "4 min 5 s", "3 h 0 min", "2 d 1 h". */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** The version of every --json document's shape (docs/json.md); raised when a key changes meaning or goes. */
export const JSON_SCHEMA_VERSION = 1;

/**
 * camelCase keys -> snake_case (as the records spell theirs), deeply. Only keys that are camelCase
 * identifiers change: keys that are data (task types, host names) are not that and stay as they are.
 */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [/^[a-z][a-zA-Z0-9]*$/.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k, snakeKeys(x)]),
  );
}

/** What a command prints for --json: `schema_version` first, then the document's keys, and a newline. */
export function jsonDocument(doc: object, indent = 2): string {
  return `${JSON.stringify({ schema_version: JSON_SCHEMA_VERSION, ...doc }, null, indent)}\n`;
}
