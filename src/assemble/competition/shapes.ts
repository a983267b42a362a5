/**
 * The shapes competition mode keeps: its options, a measured output, and the open service tasks and
 * held generations as the state file stores them.
 */
import { z } from 'zod';
import type { GenerationRecord } from '../../schema';
import type { PlyResult } from '../../ply';
import type { LinkedPly } from '../ply-output';

export interface CompetitionOptions {
  /** PM2 app of the generation service (its name goes into metadata.miner_app). */
  app: string;
  hotkey: string;
  host: string;
  collectorVersion: string;
  minerVersion: string | null;
  minerConfig: Record<string, string | number | boolean | null>;
  /** A file written up to this long after its task completed is that task's. */
  linkWithinMs: number;
  /** A task not completed after this long failed. */
  taskTimeoutMs: number;
  /** A generation whose verdict is still open after this long is let go (its last revision stands). */
  holdMs: number;
}

/** The output file, measured: its hash, and its PLY figures when it is a PLY. */
export interface OutputMeasure {
  sha256: string | null;
  ply: PlyResult | null;
  /** Why the file could not be read (it changed, it is gone). */
  error: string | null;
}

const ServiceTaskSchema = z.object({
  receivedMs: z.number(),
  receivedText: z.string(),
  file: z.string(),
  offset: z.number(),
  timing: z.record(z.string(), z.number().nullable()),
  sources: z.array(z.object({ event: z.string(), file: z.string(), offset: z.number() })),
  completedMs: z.number().nullable(),
});
export type ServiceTask = z.infer<typeof ServiceTaskSchema>;

const HeldSchema = z.object({
  record: z.custom<GenerationRecord>((v) => typeof v === 'object' && v !== null),
  timeMs: z.number(),
  output: z.custom<LinkedPly>((v) => typeof v === 'object' && v !== null).nullable(),
  measured: z.boolean(),
  /** What the last written version said (its stage, outcome and round): an unchanged one is not written again. */
  emitted: z.string().nullable(),
  /**
   * An output file linked by a best fit: the other requests that could have written it (by `taskKey`),
   * and when its own request completed. Each that takes a file of its own, and no other, is one doubt
   * fewer; with none left the link is determined.
   */
  doubt: z.object({ others: z.array(z.string()), completedMs: z.number() }).optional(),
});
export type Held = z.infer<typeof HeldSchema>;

export const CompetitionSnapshotSchema = z.object({
  current: ServiceTaskSchema.nullable(),
  completed: z.array(ServiceTaskSchema),
  held: z.array(HeldSchema),
  occurrences: z.array(z.tuple([z.string(), z.number()])),
});
export type CompetitionSnapshot = z.infer<typeof CompetitionSnapshotSchema>;
