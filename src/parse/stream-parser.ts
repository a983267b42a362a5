/**
 * One followed file's lines -> events. Undoes PM2's envelope, finds the log header, joins the
 * header-less lines that follow an entry (a traceback; in date-prefix mode, the later pieces of a
 * long line), and applies the rules. Pure apart from its own buffer: the caller feeds lines in
 * order and calls `flush()` at the end of input (or when the source is idle).
 */
import { Pm2Envelope, type Piece } from './pm2-envelope';
import { parseHeader, type Header } from './headers';
import { localTimeToUtc, parseZonedTime } from './local-time';
import { redactSecrets, walletFileSecrets, walletSecrets } from './redact';
import type { CompiledRule, RuleMatch } from './rules';
import { emptyParseStats, type LogEvent, type ParseStats, type StreamSpec } from './events';
import type { FileIdentity } from '../sources/checkpoint';
import type { Line } from '../sources/types';

export interface StreamParserOptions {
  rules: CompiledRule[];
  /** IANA zone of the miner's and workers' header times. */
  timeZone: string;
  /** Messages longer than this are not given to `pattern` regexes (long-field and prefix-only rules still apply). */
  maxPatternBytes?: number;
  /** An entry's continuation lines beyond this many bytes are dropped (counted in `dropped`). */
  maxStackTraceBytes?: number;
  /** Date mode: header-less pieces kept after an entry to rebuild a long line, at most this many bytes. */
  maxEntryBytes?: number;
  /** Wallet names, hotkeys and paths to redact wherever they appear (those of secret lines are added as seen). */
  secrets?: string[];
  /** Keep this many unmatched entries' positions and starts in `stats.unmatchedAt` (`ingest --explain-unmatched`). */
  keepUnmatched?: number;
  /** Copies a long field out of its line (default: a new buffer; `ingest` reuses those the prompt thread is done with). */
  copyLongField?: (bytes: Buffer) => Buffer;
}

interface OpenEntry {
  header: Header;
  first: Piece;
  rest: Piece[];
  restBytes: number;
  /** The first of `rest` not yet copied by `detach()`. */
  detachedRest: number;
}

interface Found {
  match: RuleMatch;
  /** How many of the entry's later pieces the match used (date mode). */
  consumed: number;
  joined: Buffer;
  /** Another split of the same pieces fits the rule too: the pieces cannot say which is the line. */
  ambiguous: boolean;
}

/**
 * A line of a Python traceback (or of a chained one). Python indents exactly: `  File "…"`, the
 * source line at 4 spaces, carets further right, `  | `/`  +-` in exception groups.
 */
const TRACEBACK_LINE =
  // eslint-disable-next-line no-regex-spaces -- the exact indentation is what tells a traceback line
  /^(?:Traceback \(most recent call last\):|  File "|    \S| {4,}[~^]|  \[Previous line|  [|+]|\t+\S|During handling of|The above exception|(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Warning|Timeout|Iteration)\b|(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: )/;
/**
 * The rest of a log header whose start PM2 dropped (`BUG       | bittensor:…`, `    DEBUG     | …`, or
 * cut just before the location: `bittensor:workers.py:87 | …`, `__main__:generate:52 - …`).
 */
// eslint-disable-next-line no-control-regex -- ESC starts the colour codes a cut header may keep
const HEADER_REST = /^[^|]{0,40}\| (?:bittensor:|[\w.<>]+:[\w<>]+:\d+ - )|^\s*(?:\x1b\[[\d;]*m)*[A-Z]+\s*(?:\x1b\[[\d;]*m)*\s+\| |^(?:bittensor:[\w.]+:\d+ \| |[\w.<>]+:[\w<>]+:\d+ - )/;
/** Where a traceback starts: a message never goes on past it. */
const TRACEBACK_START = /^(?:Traceback \(most recent call last\):|During handling of|The above exception|\s*\+? ?Exception Group Traceback)/;
const BLANK = /^[ \t]+$/;

/**
 * An event holds no view of a line: the bytes it keeps are copied. The line's buffer may be a read
 * chunk (kept alive by a small slice) or one the reader reuses (`readFileLines`' `reuseBuffers`).
 */
function ownBytes(b: Buffer): Buffer {
  return Buffer.from(b);
}
const STACK_LIMIT = 64 * 1024;
const ENTRY_LIMIT = 64 * 1024 * 1024;
const EXCEPTION_MESSAGE_BYTES = 1024;
const FAILURE_LEVELS = new Set(['ERROR', 'CRITICAL']);

/** Levels whose line may be followed by a Python traceback (`bt.logging.exception`, loguru's `exception`). */
const WAITS_FOR_TRACEBACK = new Set(['ERROR', 'CRITICAL']);
/**
 * The generation service's failure (competition mode): uvicorn's own error line (`ERROR:` and 4
 * spaces, no loguru header) and Python's traceback, written when the request fails, long after the
 * request's own INFO line was handed on.
 */
const HEADERLESS_ERROR = /^(?:ERROR: {4}|Traceback \(most recent call last\):)/;

export class StreamParser {
  readonly stats: ParseStats = emptyParseStats();
  private readonly envelope = new Pm2Envelope();
  private open: OpenEntry | null = null;
  /** The previous event's time: in a repeated DST hour, the order of the lines picks the instant. */
  private lastTimeMs: number | null = null;
  /** The last header read (a header-less error entry of the generation service takes its time). */
  private lastHeader: Header | null = null;
  /** Where `detach()` keeps the open entry's first line. */
  private detached = Buffer.alloc(0);
  private readonly maxPatternBytes: number;
  private readonly maxStackTraceBytes: number;
  private readonly maxEntryBytes: number;
  private readonly secrets: string[];

  constructor(
    readonly spec: StreamSpec,
    private readonly opts: StreamParserOptions,
    private readonly emit: (event: LogEvent) => void,
  ) {
    this.maxPatternBytes = opts.maxPatternBytes ?? 4096;
    this.maxStackTraceBytes = opts.maxStackTraceBytes ?? STACK_LIMIT;
    this.maxEntryBytes = opts.maxEntryBytes ?? ENTRY_LIMIT;
    this.secrets = (opts.secrets ?? []).filter((s) => s.length >= 3);
  }

  /** Feeds one line of the file, in file order. */
  push(line: Line): void {
    this.stats.lines++;
    for (const piece of this.envelope.decode(line.bytes, line.offset, line.end, line.source.identity)) this.pushPiece(piece);
  }

  /**
   * Copies what the open entry holds of the lines pushed so far into buffers of its own: called
   * before the reader reuses those lines' buffers. Nothing else here outlives a push. Its first
   * line (often a prompt line, hundreds of KB) goes into one buffer kept for that, its rest into
   * new ones (once: `detachedRest` of them are copies already).
   */
  detach(): void {
    const e = this.open;
    if (!e) return;
    const first = e.first.bytes;
    if (first.buffer !== this.detached.buffer) {
      if (this.detached.length < first.length) this.detached = Buffer.allocUnsafeSlow(Math.max(first.length, 2 * this.detached.length));
      first.copy(this.detached);
      e.first = { ...e.first, bytes: this.detached.subarray(0, first.length) };
    }
    for (let i = e.detachedRest; i < e.rest.length; i++) e.rest[i] = { ...e.rest[i]!, bytes: Buffer.from(e.rest[i]!.bytes) };
    e.detachedRest = e.rest.length;
  }

  /** Ends the open entry (end of input, or the source went idle). */
  flush(): void {
    if (this.open) {
      const e = this.open;
      this.open = null;
      this.finish(e);
    }
  }

  /**
   * Where a checkpoint of this file may stand: nothing before it is still waiting here (the start of
   * the open entry, or of a JSON-mode line not yet complete), or null when nothing is.
   */
  pendingAt(): { identity: FileIdentity; offset: number } | null {
    if (this.open) return { identity: this.open.first.identity, offset: this.open.first.offset };
    return this.envelope.pendingAt;
  }

  /**
   * Whether the open entry may still grow from a later write: an error's traceback, or in date
   * mode the next pieces of a long line. Otherwise a caught-up reader can flush() at once: a
   * logging call writes its line and any wrapped lines in one write.
   */
  openEntryMayContinue(): boolean {
    return this.open !== null && (this.open.first.mode === 'date' || WAITS_FOR_TRACEBACK.has(this.open.header.level));
  }

  private pushPiece(piece: Piece): void {
    const header = parseHeader(piece.bytes);
    if (header) {
      this.flush();
      this.open = { header, first: piece, rest: [], restBytes: 0, detachedRest: 0 };
      this.lastHeader = header;
      return;
    }
    if (!this.open && this.spec.role === 'generation' && this.lastHeader && HEADERLESS_ERROR.test(piece.bytes.toString('latin1', 0, 40))) {
      // an entry of its own, at the stream's last time: an ERROR whose traceback makes it an `exception`
      this.open = { header: { ...this.lastHeader, level: 'ERROR', messageStart: 0 }, first: piece, rest: [], restBytes: 0, detachedRest: 0 };
      return;
    }
    if (!this.open) {
      // Output before any header (an interpreter's crash traceback), or in date mode the rest of
      // a line whose start PM2 dropped.
      if (piece.bytes.length > 0) {
        if (piece.mode === 'date' && !isTracebackLine(piece.bytes)) this.noteDamage(piece.offset);
        else this.stats.orphans++;
      }
      return;
    }
    // bounded: a process printing megabytes of header-less output must not grow the entry forever
    const limit = piece.mode === 'date' ? this.maxEntryBytes : this.maxStackTraceBytes;
    if (this.open.restBytes + piece.bytes.length > limit) {
      this.stats.dropped++;
      return;
    }
    this.open.rest.push(piece);
    this.open.restBytes += piece.bytes.length;
  }

  private finish(e: OpenEntry): void {
    this.stats.entries++;
    const message = e.first.bytes.subarray(e.header.messageStart);
    const role = this.spec.role;
    const date = e.first.mode === 'date';
    // Only date mode splits one line into pieces; elsewhere every piece is a line of its own.
    const joinable = date ? e.rest : [];
    let found: Found | null = null;
    let cut: CompiledRule | null = null;
    for (const rule of this.opts.rules) {
      if (!rule.appliesTo(role, e.header.level) || !rule.startsWith(message)) continue;
      found = this.matchAcrossPieces(rule, message, joinable);
      if (found) break;
      // a long line's start with no end: PM2 cut the line (or the writer was killed mid-line)
      if (rule.longField) cut ??= rule;
    }
    const rule = found?.match.rule ?? null;
    const consumed = found?.consumed ?? 0;
    if (rule?.secret) this.learnSecrets(message, e.rest);
    const stack = rule?.secret ? null : this.continuation(e, consumed, found !== null && !found.ambiguous);
    if (found && !found.ambiguous) {
      const m = found.match;
      if (this.secrets.length)
        for (const [k, v] of Object.entries(m.fields))
          if (typeof v === 'string' && m.rule.fieldType(k) === 'string') m.fields[k] = redactSecrets(v, this.secrets);
      const long = m.long ? (this.opts.copyLongField ?? ownBytes)(found.joined.subarray(m.long.start, m.long.end)) : null;
      const set: LogEvent['set'] = {};
      for (const [path, v] of Object.entries(m.rule.set))
        set[path] = typeof v === 'string' && v.startsWith('$') ? (m.fields[v.slice(1)] ?? null) : v;
      const last = consumed > 0 ? e.rest[consumed - 1]! : e.first;
      const end = Math.max(last.end, stack?.end ?? 0);
      this.emitEvent(e, m.rule.event, m.rule.name, m.fields, long, set, stack?.text ?? null, false, end);
      return;
    }
    const damagedRule = rule ?? cut;
    if (damagedRule) {
      // say a line of that kind was there, nothing more: no field of a line we cannot trust
      this.noteDamage(e.first.offset);
      this.emitEvent(e, damagedRule.event, damagedRule.name, {}, null, {}, null, true, e.first.end);
      return;
    }
    if (stack?.traceback && FAILURE_LEVELS.has(e.header.level)) {
      // an exception no rule knows: the assembler takes it as a failure of the task in flight
      const text = redactSecrets(utf8Head(message, EXCEPTION_MESSAGE_BYTES), this.secrets);
      this.emitEvent(e, 'exception', 'exception', { message: text }, null, {}, stack.text, false, stack.end);
      return;
    }
    this.stats.unmatched++;
    if (this.stats.unmatchedAt.length < (this.opts.keepUnmatched ?? 0))
      this.stats.unmatchedAt.push(`${this.spec.file}:${e.first.offset}  ${redactSecrets(utf8Head(message, 160), this.secrets).replace(/\s+/g, ' ')}`);
  }

  /**
   * The entry's continuation lines from `from` on, as a redacted stack trace. In date mode a piece
   * that is not a traceback line is a fragment of a line whose start PM2 dropped (counted, skipped);
   * an indentation-only piece is a line Python wrote in two parts, so the next piece goes on it.
   * `lineEnded`: the entry's line is known to be whole (a rule matched it).
   */
  private continuation(e: OpenEntry, from: number, lineEnded: boolean): { text: string; end: number; traceback: boolean } | null {
    const date = e.first.mode === 'date';
    const lines: string[] = [];
    let bytes = 0;
    let end = 0;
    let glue = false;
    let traceback = false;
    for (let i = from; i < e.rest.length; i++) {
      const p = e.rest[i]!;
      if (date) {
        if (p.bytes.length === 0) {
          // the newline of a piece that did not end its line, or, right after a whole line, all
          // that is left of a line PM2 dropped to its last byte
          if (i === from && lineEnded) this.noteDamage(p.offset);
          continue;
        }
        if (!glue && !BLANK.test(p.bytes.toString('latin1', 0, 64)) && !isTracebackLine(p.bytes)) {
          this.noteDamage(p.offset);
          continue;
        }
        // what followed a blank piece is a header's rest, or with it makes no traceback line (` laces.
        // chair. with timeout None seconds`): the blank was the start of a line PM2 cut
        if (glue && !isTracebackLine(Buffer.concat([Buffer.from(lines[lines.length - 1]!, 'latin1'), p.bytes.subarray(0, 200)]))) {
          lines.pop();
          glue = false;
          this.noteDamage(p.offset);
          continue;
        }
      }
      if (bytes + p.bytes.length > this.maxStackTraceBytes) {
        this.stats.dropped++;
        continue;
      }
      const text = p.bytes.toString('utf8');
      if (glue) lines[lines.length - 1] += text;
      else lines.push(text);
      glue = date && BLANK.test(text);
      traceback ||= TRACEBACK_START.test(text);
      bytes += p.bytes.length + 1;
      end = p.end;
    }
    if (!lines.length) return null;
    const raw = lines.join('\n');
    // a key file's path names the wallet: later pieces of it (in this entry or the next) go too
    this.remember(walletFileSecrets(raw));
    return { text: redactSecrets(raw, this.secrets), end, traceback };
  }

  /** Remembers the wallet's names and path from a secret line (and its YAML continuation). */
  private learnSecrets(message: Buffer, rest: Piece[]): void {
    const text = [message, ...rest.slice(0, 200).map((p) => p.bytes)].map((b) => b.toString('utf8', 0, 64 * 1024)).join('\n');
    this.remember(walletSecrets(text));
  }

  private remember(found: string[]): void {
    let added = false;
    for (const s of found)
      if (!this.secrets.includes(s)) {
        this.secrets.push(s);
        added = true;
      }
    // longest first, so a path goes whole before a name inside it
    if (added) this.secrets.sort((a, b) => b.length - a.length);
  }

  /**
   * Tries the rule on the message alone, then (date mode) joined with the next pieces, looking for
   * the rule's end in a window at each piece's end so a long line is copied once, not once a piece.
   * The first fit wins; a second fit makes the entry ambiguous (a line cut where a shorter one
   * could end looks exactly like that shorter line followed by a fragment).
   */
  private matchAcrossPieces(rule: CompiledRule, message: Buffer, pieces: Piece[]): Found | null {
    let first: Found | null = null;
    const direct = rule.match(message, this.maxPatternBytes);
    if (direct) first = { match: direct, consumed: 0, joined: message, ambiguous: false };
    let total = message.length;
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k]!.bytes;
      // an empty piece (a chunk that held only a newline) adds nothing: no other split
      if (piece.length === 0) continue;
      if (TRACEBACK_START.test(piece.toString('latin1', 0, 64))) break;
      total += piece.length;
      if (!rule.longField && total > this.maxPatternBytes) break;
      if (rule.longField && !rule.endsAt(this.tailWindow(message, pieces, k))) continue;
      const joined = Buffer.concat([message, ...pieces.slice(0, k + 1).map((p) => p.bytes)], total);
      const m = rule.match(joined, this.maxPatternBytes);
      if (!m) continue;
      if (first) return { ...first, ambiguous: true };
      first = { match: m, consumed: k + 1, joined, ambiguous: false };
    }
    return first;
  }

  /** The last bytes of message + pieces[0..k], enough for a rule's end window. */
  private tailWindow(message: Buffer, pieces: Piece[], k: number): Buffer {
    const parts: Buffer[] = [];
    let need = 1024;
    for (let j = k; j >= -1 && need > 0; j--) {
      const b = j === -1 ? message : pieces[j]!.bytes;
      const part = b.subarray(Math.max(0, b.length - need));
      parts.unshift(part);
      need -= part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private emitEvent(
    e: OpenEntry,
    type: string,
    rule: string,
    fields: LogEvent['fields'],
    long: Buffer | null,
    set: LogEvent['set'],
    stackTrace: string | null,
    damaged: boolean,
    end: number,
  ): void {
    const hint = e.first.pm2Time ? parseZonedTime(e.first.pm2Time) : null;
    const timeText = e.header.timeText;
    const timeMs = localTimeToUtc(e.header.zone ? `${timeText}${e.header.zone}` : timeText, this.opts.timeZone, hint, this.lastTimeMs);
    if (Number.isFinite(timeMs)) this.lastTimeMs = timeMs;
    this.stats.events++;
    this.emit({
      type,
      rule,
      spec: this.spec,
      file: this.spec.file,
      identity: e.first.identity,
      offset: e.first.offset,
      end,
      timeText,
      timeMs,
      level: e.header.level,
      fields,
      long,
      set,
      stackTrace,
      damaged,
    });
  }

  private noteDamage(offset: number): void {
    this.stats.damaged++;
    this.stats.damagedAt.unshift(`${this.spec.file}:${offset}`);
    if (this.stats.damagedAt.length > 50) this.stats.damagedAt.pop();
  }
}

function isTracebackLine(bytes: Buffer): boolean {
  const head = bytes.toString('latin1', 0, 200);
  return TRACEBACK_LINE.test(head) && !HEADER_REST.test(head);
}

/** At most `max` bytes of the start of `b` as text, never cutting a UTF-8 character in two. */
function utf8Head(b: Buffer, max: number): string {
  if (b.length <= max) return b.toString('utf8');
  let n = max;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  return b.toString('utf8', 0, n);
}
