/**
 * Where a source stands in a file: the value the caller commits once everything before `offset`
 * is durable (ARCHITECTURE.md, "Delivery"). Stored in the state file; owned here.
 */
import { z } from 'zod';

/** A file is the same file only when device, inode and the fingerprint of its first bytes agree. */
export const FileIdentitySchema = z.object({
  dev: z.number().int().nonnegative(),
  ino: z.number().int().nonnegative(),
  /** Hex SHA-256 of the file's first `fingerprintBytes` bytes (fewer for a short file). */
  fingerprint: z.string(),
  fingerprintBytes: z.number().int().nonnegative(),
});
export type FileIdentity = z.infer<typeof FileIdentitySchema>;

export const CheckpointSchema = z.object({
  /** The followed path (the name, not the inode: `tail -F`). */
  path: z.string(),
  /** The file read at `offset`, or null before any byte was read. */
  identity: FileIdentitySchema.nullable(),
  /** Byte offset just past the last line whose effects are durable. */
  offset: z.number().int().nonnegative(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/**
 * An output directory's high-water mark: every file with an mtime at or below it was handed on;
 * `recent` names the files above it that were (name relative to the directory -> mtime), since
 * files finish out of mtime order. A file is new when it is above the mark and not in `recent`
 * with that mtime (a file rewritten in place is new again).
 */
export const OutputDirMarkSchema = z.strictObject({
  high_water_mtime_ms: z.number(),
  recent: z.record(z.string(), z.number()),
});
export type OutputDirMark = z.infer<typeof OutputDirMarkSchema>;
