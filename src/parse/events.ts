/** What the parse stage hands to the assembler: one typed event per matched log entry. */
import type { FieldValue } from './rules';
import type { FileIdentity } from '../sources/checkpoint';

/** `generation`: competition mode's generation service (the base miners' serve.py). */
export type Role = 'miner' | 'worker' | 'generation';

/** One followed file and what it belongs to. */
export interface StreamSpec {
  /** PM2 app name, e.g. `miner-sn17-mainnet`, `gen-worker-1`. */
  app: string;
  role: Role;
  /** `miner`, or the worker group's name (one group = one endpoint's worker). */
  group: string;
  /** `out` or `error`. */
  stream: string;
  file: string;
}

export interface LogEvent {
  /**
   * The rule's event type; `exception` for an ERROR/CRITICAL entry that no rule matched but that has
   * a traceback (fields.message = the entry's first line, redacted, at most 1 KB; stackTrace set).
   */
  type: string;
  rule: string;
  spec: StreamSpec;
  /**
   * Where the entry is: the followed file, the identity of the file its first line was read from (a
   * rotated copy has its own), and the entry's byte span in it. A checkpoint is built from these.
   */
  file: string;
  identity: FileIdentity;
  offset: number;
  end: number;
  /** The header's time exactly as written, and that time in UTC ms. */
  timeText: string;
  timeMs: number;
  level: string;
  fields: Record<string, FieldValue>;
  /** The long field (a prompt), as bytes; null when the rule has none. */
  long: Buffer | null;
  /** Record paths a rule sets, with their values. */
  set: Record<string, FieldValue>;
  /** Continuation lines of the entry (a Python traceback), secrets redacted. */
  stackTrace: string | null;
  /**
   * The entry's start matched this rule but its end was lost (PM2 cut a long line), or PM2's pieces
   * fit the rule in two ways (a line cut where a shorter one could end): the event says a line of
   * this kind was there, nothing more (no fields, no long field). It never starts or ends a task.
   */
  damaged: boolean;
}

export interface ParseStats {
  lines: number;
  entries: number;
  events: number;
  /** Entries no rule matched (normal: most lines are not about tasks). */
  unmatched: number;
  /** Lines that were pieces of lines PM2 destroyed, and entries whose end was lost. */
  damaged: number;
  /** Header-less lines with no entry before them in the stream. */
  orphans: number;
  /** Continuation lines beyond the stack-trace or entry size limits, not kept. */
  dropped: number;
  /** Where damage was seen (file:offset), the latest first, at most 50. */
  damagedAt: string[];
  /** The first unmatched entries (file:offset and the start of the message, secrets redacted), when asked for. */
  unmatchedAt: string[];
}

export function emptyParseStats(): ParseStats {
  return { lines: 0, entries: 0, events: 0, unmatched: 0, damaged: 0, orphans: 0, dropped: 0, damagedAt: [], unmatchedAt: [] };
}
