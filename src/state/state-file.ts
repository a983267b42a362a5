/**
 * A versioned JSON document the collector remembers across a restart (ARCHITECTURE.md, "State"),
 * written atomically and validated by the schema its owner gives; older versions are walked up a
 * migration chain one version at a time, a newer one is refused. Generic: what the collector's state
 * holds is composed in `pipeline/state-shape.ts`, from each stage's own schema.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { prettifyError } from 'zod';
import { type Clock, systemClock } from '../common/clock';
import { CollectorError, fromFsError } from '../common/errors';
import { atomicWriteFile, ensureDir, removeDeadWritersTmp } from '../common/fsx';

export const STATE_DIR_NAME = 'state';
export const STATE_FILE_NAME = 'collector-state.json';

export function stateDirPath(dataDir: string): string {
  return path.join(dataDir, STATE_DIR_NAME);
}

export function stateFilePath(dataDir: string): string {
  return path.join(stateDirPath(dataDir), STATE_FILE_NAME);
}

/** Turns a state document of version N into one of version N + 1. */
export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;

/** What a document is: its schema, its current version, and the migrations up to it. */
export interface DocumentSpec<T extends { version: number; updated_at: string }> {
  schema: z.ZodType<T>;
  version: number;
  /** Key: the version a migration reads. */
  migrations: Readonly<Record<number, Migration>>;
}

const MOVE_ASIDE_HINT =
  'move the file aside (mv it to *.bad) and start again: the collector then re-reads the logs from ' +
  'the beginning, which is safe because the store drops records it already has; keep the moved file ' +
  'for a bug report';

function invalid(file: string, what: string, cause?: unknown): CollectorError {
  return new CollectorError('STATE_INVALID', `state file is not valid: ${what}`, file, MOVE_ASIDE_HINT, { cause });
}

/** Reads the document; null when the file does not exist. Read-only: never writes or resets anything. */
export function loadDocument<T extends { version: number; updated_at: string }>(file: string, spec: DocumentSpec<T>): T | null {
  const { migrations } = spec;
  const current = spec.version;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromFsError(err, file, 'reading the state file');
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `not JSON (${(err as Error).message})`, err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(file, 'not a JSON object');
  const found = (doc as Record<string, unknown>).version;
  if (typeof found !== 'number' || !Number.isInteger(found)) throw invalid(file, '"version" is missing or not an integer');
  let version: number = found;

  // Walk the chain one version at a time; each step must land on the next version.
  while (version < current) {
    const migrate = migrations[version];
    if (!migrate) throw unknownVersion(file, version, migrations, current);
    let next: Record<string, unknown>;
    try {
      next = migrate(doc as Record<string, unknown>);
    } catch (err) {
      throw invalid(file, `migration from version ${version} failed (${(err as Error).message})`, err);
    }
    if (next.version !== version + 1) {
      throw invalid(file, `migration from version ${version} produced version ${String(next.version)}`);
    }
    doc = next;
    version = version + 1;
  }
  if (version !== current) throw unknownVersion(file, version, migrations, current);

  const parsed = spec.schema.safeParse(doc);
  if (!parsed.success) throw invalid(file, prettifyError(parsed.error).replace(/\n/g, '; '), parsed.error);
  return parsed.data;
}

function unknownVersion(file: string, version: number, migrations: Readonly<Record<number, Migration>>, current: number): CollectorError {
  const known = [...Object.keys(migrations).map(Number), current].sort((a, b) => a - b);
  const newer = version > current;
  return new CollectorError(
    'STATE_VERSION',
    `state file has version ${version}, ${newer ? 'newer than' : 'not one of'} the versions this build of data-collector knows (${known.join(', ')})`,
    file,
    newer
      ? 'a newer data-collector wrote it: upgrade the collector to that version or later (do not delete the file: it holds where each log was read up to)'
      : 'no migration exists from that version: use the data-collector release that wrote it, or move the file aside to re-read the logs from the beginning (safe: the store drops duplicates)',
  );
}

const strayTmpSwept = new Set<string>();

/**
 * Validates and atomically replaces the document; returns it as written (`updated_at` set to now).
 * Only the instance-lock holder calls this.
 */
export function saveDocument<T extends { version: number; updated_at: string }>(file: string, spec: DocumentSpec<T>, doc: T, options: { clock?: Clock } = {}): T {
  const stamped = { ...doc, updated_at: new Date((options.clock ?? systemClock).now()).toISOString() };
  const parsed = spec.schema.safeParse(stamped);
  if (!parsed.success) {
    throw new CollectorError(
      'STATE_INVALID',
      `refusing to write an invalid state: ${prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      file,
      'this is a bug in data-collector; please report it with the message above',
      { cause: parsed.error },
    );
  }
  ensureDir(path.dirname(file));
  atomicWriteFile(file, JSON.stringify(parsed.data, null, 1) + '\n');
  if (!strayTmpSwept.has(file)) {
    strayTmpSwept.add(file);
    removeDeadWritersTmp(path.dirname(file), `${path.basename(file)}.`);
  }
  return parsed.data;
}

/**
 * Moves a document that cannot be read aside, never deleting it (`<name>.corrupt-<time>`, kept for a
 * bug report); returns the new path.
 */
export function moveAside(file: string, nowMs: number): string {
  const aside = `${file}.corrupt-${new Date(nowMs).toISOString().replace(/[:.]/g, '')}`;
  fs.renameSync(file, aside);
  return aside;
}
