/** Field types shared by every record kind. Messages name the expected format so a bad line is easy to fix. */
import { z } from 'zod';
import { SCHEMA_VERSION } from './constants';

export { SCHEMA_VERSION };

/** All times: ISO-8601 UTC with milliseconds and `Z`, so they sort as text and parse everywhere. */
export const isoTime = () =>
  z.iso.datetime({ precision: 3, error: 'expected an ISO-8601 UTC time with milliseconds and Z, e.g. 2025-11-12T21:30:45.123Z' });

/** `sha256:` + 64 lowercase hex digits. */
export const sha256Ref = () =>
  z.string().regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected sha256:<64 lowercase hex digits>' });

/** Values allowed in the open objects (timing, miner_config, metrics, stats): flat scalars only. */
export const Scalar = z.union([z.number(), z.string(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof Scalar>;

export const nullableInt = () => z.number().int().nullable();
export const nullableCount = () => z.number().int().nonnegative().nullable();
/** Neuron uids are small non-negative integers. */
export const nullableUid = () => z.number().int().nonnegative().nullable();
export const nullableNumber = () => z.number().nullable();
export const nullableString = () => z.string().nullable();
export const nullableBool = () => z.boolean().nullable();

/** Where a line was read: the followed path and the byte offset of the line's first byte. */
export const SourceRef = z.strictObject({
  file: z.string().min(1).describe('Path of the log file the line was read from, as followed (absolute).'),
  offset: z.number().int().nonnegative().describe('Byte offset of the start of the line in that file.'),
});
export type SourceRef = z.infer<typeof SourceRef>;

export const schemaVersionField = () =>
  z.number().int().positive().describe(`Version of the record layout (this collector writes ${SCHEMA_VERSION}).`);
export const collectorVersionField = () =>
  z.string().min(1).describe('Version of the data-collector that wrote the line (package.json version).');
export const hostField = () => z.string().min(1).describe('Host name of the machine the miner and the collector run on.');
export const minerAppField = () => z.string().min(1).describe('PM2 app name of the miner, e.g. miner-sn17-mainnet.');
