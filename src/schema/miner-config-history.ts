/** One line of miner_config_history.jsonl: a change of the miner's settings, when and where it was seen. */
import { z } from 'zod';
import { Scalar, collectorVersionField, hostField, isoTime, minerAppField, schemaVersionField } from './common';

export const CONFIG_SOURCE_KINDS = ['log', 'config_file'] as const;

export const MinerConfigHistoryEntrySchema = z
  .strictObject({
    time: isoTime().describe('When the change was seen: the time of the log line, or the config file\'s mtime.'),
    host: hostField(),
    miner_app: minerAppField(),
    changes: z
      .array(
        z.strictObject({
          key: z.string().min(1).describe('The miner_config key that changed, e.g. trellis_sparse_steps.'),
          old: Scalar.describe('The value before the change; null when the key was not known before.'),
          new: Scalar.describe('The value after the change; null when the key is no longer seen.'),
        }),
      )
      .min(1)
      .describe('Each changed key, sorted by key.'),
    config: z
      .record(z.string(), Scalar)
      .describe('The whole miner_config after the change, so a reader needs no earlier line.'),
    generation_id: z
      .uuid()
      .nullable()
      .describe('The first generation that ran with the new settings, when the change came from its lines.'),
    source: z
      .object({
        kind: z.enum(CONFIG_SOURCE_KINDS).describe('log: a worker or miner log line; config_file: a settings file.'),
        file: z.string().min(1).describe('Path of the log file or config file.'),
        offset: z
          .number()
          .int()
          .nonnegative()
          .nullable()
          .describe('Byte offset of the log line; null for a config file.'),
      })
      .describe('Where the change was seen.'),
    schema_version: schemaVersionField(),
    collector_version: collectorVersionField(),
  })
  .describe('One change of the miner settings: one line of miner_config_history.jsonl.');

export type MinerConfigHistoryEntry = z.infer<typeof MinerConfigHistoryEntrySchema>;
export type ConfigChange = MinerConfigHistoryEntry['changes'][number];
