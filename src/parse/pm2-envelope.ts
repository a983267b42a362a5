/**
 * Undoes what PM2 did to a process's output (reference: upstream-miner-logs.md, "What PM2 does"):
 * - plain mode: the bytes as the process wrote them;
 * - `log_date_format`: every piece is `<date>: <piece>`; a line longer than PM2's read chunk arrives
 *   as several pieces, and a line's start can be missing (PM2 drops the text after a chunk's last `\n`);
 * - `log_type: 'json'`: one JSON object per chunk; `message` holds the chunk's text, so the original
 *   lines are rebuilt by joining messages and splitting on `\n` (lossless).
 * Output: pieces of the original lines, each with the file position it came from.
 */

import type { FileIdentity } from '../sources/checkpoint';

export type Pm2Mode = 'plain' | 'date' | 'json';

export interface Piece {
  /** The process's own bytes, PM2's prefix removed. */
  bytes: Buffer;
  mode: Pm2Mode;
  /** PM2's own time for the piece (date prefix or JSON `timestamp`), when it wrote one. */
  pm2Time: string | null;
  /** Start offset of the file line that holds this piece's first byte, and the end of the last one. */
  offset: number;
  end: number;
  /** The file those offsets are in (its identity when read). */
  identity: FileIdentity;
  /**
   * True when the original line is known to go on in the next piece (JSON mode, a chunk without `\n`);
   * null when unknown (date mode: PM2 adds `\n` to every piece, ended or not); false when it ended.
   */
  continues: boolean | null;
}

/** `2025-11-12 21:30:45 +00:00: `, `2025-11-12T21:30:45.123Z: `, `2025-11-12 21:30:45: ` ... */
const DATE_PREFIX = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?: ?(?:Z|[+-]\d{2}:?\d{2}))?): /;
const JSON_START = Buffer.from('{"message":');

/** Decodes one PM2 log file's lines; keeps the JSON-mode carry-over between lines. */
export class Pm2Envelope {
  private carry: Buffer[] = [];
  private carryOffset = 0;
  private carryIdentity: FileIdentity | null = null;
  private carryTime: string | null = null;

  /** Splits one file line into the process's pieces. */
  decode(bytes: Buffer, offset: number, end: number, identity: FileIdentity): Piece[] {
    if (bytes.length > JSON_START.length && bytes[0] === 0x7b && bytes.subarray(0, JSON_START.length).equals(JSON_START)) {
      const json = this.decodeJson(bytes, offset, end, identity);
      if (json) return json;
    }
    // a CRLF line end (a line splitter may leave the CR); a subarray, never a copy
    if (bytes.length && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, 48));
    const m = DATE_PREFIX.exec(head);
    if (m) {
      return [{ bytes: bytes.subarray(m[0].length), mode: 'date', pm2Time: m[1]!, offset, end, identity, continues: null }];
    }
    return [{ bytes, mode: 'plain', pm2Time: null, offset, end, identity, continues: false }];
  }

  /** True while a JSON-mode line is incomplete (a checkpoint must not fall inside it). */
  get pending(): boolean {
    return this.carry.length > 0;
  }

  /** The file line where the pending JSON-mode line began. */
  get pendingAt(): { identity: FileIdentity; offset: number } | null {
    return this.carry.length && this.carryIdentity ? { identity: this.carryIdentity, offset: this.carryOffset } : null;
  }

  private decodeJson(bytes: Buffer, offset: number, end: number, identity: FileIdentity): Piece[] | null {
    let obj: { message?: unknown; timestamp?: unknown };
    try {
      obj = JSON.parse(bytes.toString('utf8')) as typeof obj;
    } catch {
      return null;
    }
    if (typeof obj.message !== 'string') return null;
    const time = typeof obj.timestamp === 'string' ? obj.timestamp : null;
    const msg = Buffer.from(obj.message, 'utf8');
    const out: Piece[] = [];
    let start = 0;
    for (;;) {
      const nl = msg.indexOf(10, start);
      if (nl === -1) break;
      let line = msg.subarray(start, nl);
      if (line.length && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (this.carry.length) {
        this.carry.push(line);
        out.push({
          bytes: Buffer.concat(this.carry),
          mode: 'json',
          pm2Time: this.carryTime,
          offset: this.carryOffset,
          end,
          identity: this.carryIdentity ?? identity,
          continues: false,
        });
        this.carry = [];
      } else {
        out.push({ bytes: line, mode: 'json', pm2Time: time, offset, end, identity, continues: false });
      }
      start = nl + 1;
    }
    if (start < msg.length) {
      if (!this.carry.length) {
        this.carryOffset = offset;
        this.carryIdentity = identity;
        this.carryTime = time;
      }
      this.carry.push(msg.subarray(start));
    }
    return out;
  }
}
