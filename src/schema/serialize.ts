/**
 * Lines in, lines out. Writing validates first and emits the parsed value, so keys always come out in
 * schema order (zod builds its output in shape order, catchall extras after the declared keys) and a
 * record that breaks the schema never reaches a data file.
 */
import { z } from 'zod';
import { CollectorError } from '../common/errors';
import { GenerationRecordSchema, type GenerationRecord } from './record';
import { MinerConfigHistoryEntrySchema, type MinerConfigHistoryEntry } from './miner-config-history';
import { MinerEventSchema, type MinerEvent } from './miner-event';

export type ParseResult<T> = { ok: true; record: T } | { ok: false; error: string };

/** A missing key gets its own message: the fix is to write null, not to leave the key out. */
const parseParams = {
  error: (iss: { input?: unknown; code?: string }) =>
    iss.code === 'invalid_type' && iss.input === undefined ? 'missing key (write null when the value is unknown)' : undefined,
};

/** One line per problem: `metadata.validator_uid: Invalid input: expected number, received string`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

function serializeWith<T>(schema: z.ZodType<T>, value: unknown, what: string): string {
  const parsed = schema.safeParse(value, parseParams);
  if (!parsed.success) {
    const hint = 'this is a bug in the collector: report it with this message';
    throw new CollectorError('INVALID_RECORD', `invalid ${what}: ${formatIssues(parsed.error)}`, null, hint);
  }
  return JSON.stringify(parsed.data);
}

function parseWith<T>(schema: z.ZodType<T>, line: string): ParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json, parseParams);
  return parsed.success ? { ok: true, record: parsed.data } : { ok: false, error: formatIssues(parsed.error) };
}

/** Compact JSON of a valid record, keys in schema order, no trailing newline. Throws INVALID_RECORD. */
export function serializeRecord(record: GenerationRecord): string {
  return serializeWith(GenerationRecordSchema, record, 'generation record');
}

/** Parses one line of generation_history*.jsonl (a trailing newline is fine). */
export function parseRecordLine(line: string): ParseResult<GenerationRecord> {
  return parseWith(GenerationRecordSchema, line);
}

export function serializeMinerConfigHistoryEntry(entry: MinerConfigHistoryEntry): string {
  return serializeWith(MinerConfigHistoryEntrySchema, entry, 'miner config history entry');
}

export function parseMinerConfigHistoryLine(line: string): ParseResult<MinerConfigHistoryEntry> {
  return parseWith(MinerConfigHistoryEntrySchema, line);
}

export function serializeMinerEvent(event: MinerEvent): string {
  return serializeWith(MinerEventSchema, event, 'miner event');
}

export function parseMinerEventLine(line: string): ParseResult<MinerEvent> {
  return parseWith(MinerEventSchema, line);
}
