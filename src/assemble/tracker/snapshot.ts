/**
 * The open work as the state file keeps it between runs, with its schema. Fields marked optional
 * came after version 1: snapshots written by older builds lack them.
 */
import { z } from 'zod';
import {
  GuessedLifeSchema,
  IdentitySchema,
  LostReceivedSchema,
  TaskSchema,
  WindowEntrySchema,
  type TaskBook,
} from './book';
import { CompetitionSnapshotSchema } from '../competition';
import { PendingQuerySchema, QueryLineSchema } from './queries';

export const TrackerSnapshotSchema = z.object({
  version: z.literal(1),
  tasks: z.array(TaskSchema),
  identity: IdentitySchema,
  occurrences: z.array(z.tuple([z.string(), z.number()])),
  pendingQueries: z.array(PendingQuerySchema),
  queryLog: z.array(QueryLineSchema).optional(),
  lostReceived: z.array(LostReceivedSchema),
  /** Written by builds before the attribution window; read and dropped. */
  pendingSubmitFailures: z.array(z.unknown()).optional(),
  window: z.array(WindowEntrySchema).optional(),
  endpointUrls: z.array(z.string()).optional(),
  runEndpoints: z.array(z.string()).optional(),
  writtenBusy: z.array(z.object({ fromMs: z.number(), toMs: z.number(), id: z.string().optional() })).optional(),
  doubtUntilMs: z.number().optional(),
  hotkeyUids: z.array(z.tuple([z.string(), z.number()])).optional(),
  hotkeyUidChoices: z.array(z.tuple([z.string(), z.array(z.number())])).optional(),
  awaitingDetailId: z.string().nullable().optional(),
  closing: z.array(TaskSchema).optional(),
  guessedWritten: z.array(GuessedLifeSchema).optional(),
  writtenLives: z.array(z.object({ fromMs: z.number(), toMs: z.number(), seq: z.number() })).optional(),
  seq: z.number().optional(),
  writtenSpans: z.array(z.object({ id: z.string(), key: z.string(), fromMs: z.number(), toMs: z.number(), sure: z.boolean() })).optional(),
  lastMs: z.number(),
  minerAliveMs: z.number().optional(),
  /**
   * The last solve of the attribution window and the clock it ran on: a restored tracker solves again
   * when the one before it would have (non-finite times are null in JSON).
   */
  solve: z
    .object({
      changes: z.number(),
      atMs: z.number().nullable(),
      tickMs: z.number(),
      seenChanges: z.number(),
      untilMs: z.number().nullable(),
      workUntilMs: z.number().nullable(),
      ended: z.array(z.tuple([z.string(), z.object({ inAll: z.boolean(), latestMs: z.number().nullable() })])),
    })
    .optional(),
  /** Tasks written without their feedback, for a feedback that comes after all (close.ts, reopenWritten). */
  written: z.array(TaskSchema).optional(),
  /** Per worker group, a ` Generation took` line waiting for its request's saving line. */
  workerSeconds: z.array(z.tuple([z.string(), z.object({ seconds: z.number(), timeMs: z.number(), key: z.string() })])).optional(),
  /** Per worker group, its latest answer's time. */
  workerAnsweredMs: z.array(z.tuple([z.string(), z.number()])).optional(),
  /** Competition mode's open service tasks and the generations held for their verdict. */
  competition: CompetitionSnapshotSchema.optional(),
});
export type TrackerSnapshot = z.infer<typeof TrackerSnapshotSchema>;

/** The open work, JSON-safe; taking it changes nothing (a task waiting for its detail line stays open). */
export function takeSnapshot(book: TaskBook): TrackerSnapshot {
  return {
    version: 1,
    tasks: structuredClone(book.tasks),
    identity: { ...book.identity },
    occurrences: [...book.occurrences],
    pendingQueries: [...book.pendingQueries],
    queryLog: book.queryLog.map((q) => ({ ...q })),
    lostReceived: [...book.lostReceived],
    window: structuredClone(book.window),
    endpointUrls: [...book.endpointUrls],
    runEndpoints: [...book.runEndpoints],
    writtenBusy: book.writtenBusy.map((b) => ({ ...b })),
    doubtUntilMs: book.doubtUntilMs,
    hotkeyUids: [...book.hotkeyUids],
    hotkeyUidChoices: [...book.hotkeyUidChoices].map(([k, v]) => [k, [...v]]),
    awaitingDetailId: book.awaitingDetail?.id ?? null,
    closing: structuredClone(book.closing),
    guessedWritten: book.guessedWritten.map((g) => ({ ...g })),
    writtenLives: book.writtenLives.map((l) => ({ ...l })),
    seq: book.seq,
    writtenSpans: book.writtenSpans.map((s) => ({ ...s })),
    lastMs: book.lastMs,
    minerAliveMs: book.minerAliveMs,
    solve: {
      changes: book.changes,
      atMs: finiteOrNull(book.solvedAtMs),
      tickMs: book.tickMs,
      seenChanges: book.solvedState.changes,
      untilMs: finiteOrNull(book.solvedState.untilMs),
      workUntilMs: finiteOrNull(book.solvedState.workUntilMs),
      ended: [...book.ended].map(([k, v]) => [k, { ...v }]),
    },
    written: structuredClone(book.written),
    workerSeconds: [...book.workerSeconds].map(([k, v]) => [k, { ...v }]),
    workerAnsweredMs: [...book.workerAnsweredMs],
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function restoreSnapshot(book: TaskBook, s: TrackerSnapshot): void {
  book.tasks = structuredClone(s.tasks);
  book.identity = { ...s.identity };
  book.occurrences = new Map(s.occurrences);
  book.pendingQueries = [...s.pendingQueries];
  book.queryLog = (s.queryLog ?? []).map((q) => ({ ...q }));
  book.lostReceived = [...s.lostReceived];
  book.window = structuredClone(s.window ?? []);
  book.endpointUrls = [...(s.endpointUrls ?? [])];
  book.runEndpoints = [...(s.runEndpoints ?? [])];
  book.writtenBusy = (s.writtenBusy ?? []).map((b) => ({ ...b }));
  book.doubtUntilMs = s.doubtUntilMs ?? 0;
  book.hotkeyUids = new Map(s.hotkeyUids ?? []);
  book.hotkeyUidChoices = new Map((s.hotkeyUidChoices ?? []).map(([k, v]) => [k, [...v]]));
  book.awaitingDetail = book.tasks.find((t) => t.id === s.awaitingDetailId) ?? null;
  book.closing = structuredClone(s.closing ?? []);
  book.guessedWritten = (s.guessedWritten ?? []).map((g) => ({ ...g }));
  book.writtenLives = (s.writtenLives ?? []).map((l) => ({ ...l }));
  book.seq = s.seq ?? 0;
  book.writtenSpans = (s.writtenSpans ?? []).map((x) => ({ ...x }));
  book.lastMs = s.lastMs;
  // older snapshots: their last line stands for it
  book.minerAliveMs = s.minerAliveMs ?? s.lastMs;
  if (s.solve) {
    book.changes = s.solve.changes;
    book.solvedAtMs = s.solve.atMs ?? -Infinity;
    book.tickMs = s.solve.tickMs;
    book.solvedState = { changes: s.solve.seenChanges, untilMs: s.solve.untilMs ?? Infinity, workUntilMs: s.solve.workUntilMs ?? Infinity };
    book.ended = new Map(s.solve.ended.map(([k, v]) => [k, { ...v }]));
  } else book.changes++;
  book.written = structuredClone(s.written ?? []);
  book.workerSeconds = new Map((s.workerSeconds ?? []).map(([k, v]) => [k, { ...v }]));
  book.workerAnsweredMs = new Map(s.workerAnsweredMs ?? []);
}
