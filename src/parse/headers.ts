/**
 * The log headers of the miner (bittensor) and the worker (loguru), read from the first bytes of a
 * line only: a 500 KB message is never scanned here.
 *   bittensor: `2025-11-12 21:30:45.123 |      DEBUG       | bittensor:workers.py:87 | message`
 *              (level centred in any width, trace field optional, ANSI colour codes optional)
 *   loguru:    `2025-11-12 21:30:45.123 | INFO     | module:function:88 - message` (optional zone,
 *              `.123+01:00` or, with the `Z` token of newer formats, `.123 +01:00`)
 */

export type LogFormat = 'bittensor' | 'loguru';

export interface Header {
  format: LogFormat;
  /** The header's time text exactly as written (no zone: local time of the host). */
  timeText: string;
  /** A zone written by newer loguru versions, e.g. `+01:00`, else null. */
  zone: string | null;
  level: string;
  /** `bittensor:workers.py:87` or `serve:generate:88`, when present. */
  origin: string | null;
  /** Byte offset of the message in the line. */
  messageStart: number;
}

// ESC [ ... m colour codes; only the header is coloured by bittensor's formatter.
// eslint-disable-next-line no-control-regex -- ESC is what colour codes start with
const ANSI = /\x1b\[[0-9;]*m/g;
const LEVELS = 'TRACE|DEBUG|INFO|SUCCESS|WARNING|ERROR|CRITICAL';
const BITTENSOR = new RegExp(
  `^(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}) \\| +(${LEVELS}) +\\| (?:([\\w.-]+:[\\w./-]+:\\d+) \\| )?`,
);
const LOGURU = new RegExp(
  `^(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3})(?: ?([+-]\\d{2}:?\\d{2}|Z))? \\| (${LEVELS}) *\\| ([^\\s|]+:[^\\s|]+:\\d+) - `,
);
/** Enough for a header with colour codes and a long trace field. */
const HEAD_BYTES = 256;

/**
 * Reads a header at the start of `line`. The header is ASCII; colour codes are removed while
 * keeping track of where the message starts in the original bytes.
 */
export function parseHeader(line: Buffer): Header | null {
  if (line.length < 24) return null;
  const c = line[0]!;
  if (c !== 0x1b && (c < 0x30 || c > 0x39)) return null;
  const raw = line.toString('latin1', 0, Math.min(line.length, HEAD_BYTES));
  const hasAnsi = raw.includes('\x1b');
  const head = hasAnsi ? raw.replace(ANSI, '') : raw;
  // loguru first: a bittensor level centred in 8 can look like loguru's, but only loguru has
  // `module:function:line - ` after it
  let m = LOGURU.exec(head);
  let header: Omit<Header, 'messageStart'> | null = null;
  if (m) header = { format: 'loguru', timeText: m[1]!, zone: m[2] ?? null, level: m[3]!, origin: m[4]! };
  else {
    m = BITTENSOR.exec(head);
    if (m) header = { format: 'bittensor', timeText: m[1]!, zone: null, level: m[2]!, origin: m[3] ?? null };
  }
  if (!header || !m) return null;
  return { ...header, messageStart: hasAnsi ? originalOffset(raw, m[0].length) : m[0].length };
}

/** Maps an offset in the colour-stripped text back to the raw text. */
function originalOffset(raw: string, strippedOffset: number): number {
  let stripped = 0;
  let i = 0;
  while (i < raw.length && stripped < strippedOffset) {
    if (raw.charCodeAt(i) === 0x1b) {
      ANSI.lastIndex = i;
      const m = ANSI.exec(raw);
      if (m && m.index === i) {
        i += m[0].length;
        continue;
      }
    }
    i++;
    stripped++;
  }
  // colour codes right before the message belong to the header
  while (raw.charCodeAt(i) === 0x1b) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(raw);
    if (!m || m.index !== i) break;
    i += m[0].length;
  }
  return i;
}
