/**
 * One line of miner_events.jsonl: something the miner logged that belongs to no task (a failed pull, a
 * cooldown, its periodic stats, a restart). A flat shape with nulls, like the generation record, so every
 * line has the same keys whatever the event.
 */
import { z } from 'zod';
import {
  SCHEMA_VERSION,
  SourceRef,
  collectorVersionField,
  hostField,
  isoTime,
  minerAppField,
  nullableCount,
  nullableUid,
  nullableNumber,
  nullableString,
  schemaVersionField,
} from './common';

export const MINER_EVENT_TYPES = [
  'worker_started',
  'pull_failed',
  'cooldown',
  'no_validators',
  'miner_stats',
  'miner_restarted',
] as const;
export const MinerEventTypeSchema = z
  .enum(MINER_EVENT_TYPES)
  .describe(
    'worker_started: "Worker (<endpoint>) started". pull_failed: "Failed to get task from [<hotkey>]". ' +
      'cooldown: "Miner is on cooldown". no_validators: "No available validators to pull the task". ' +
      'miner_stats: the periodic "Miner | UID:... | Block:..." line. miner_restarted: the miner\'s startup ' +
      'lines came again.',
  );
export type MinerEventType = z.infer<typeof MinerEventTypeSchema>;

const MinerStatsSchema = z.strictObject({
  uid: nullableUid().describe("The miner's uid."),
  block: nullableCount().describe('Chain block number.'),
  stake: nullableNumber().describe('Stake (TAO).'),
  trust: nullableNumber().describe('Trust, 0..1.'),
  incentive: nullableNumber().describe('Incentive, 0..1.'),
  emission: nullableNumber().describe('Emission per tempo (TAO).'),
});

export const MinerEventSchema = z
  .strictObject({
    time: isoTime().describe('Time of the log line.'),
    event: MinerEventTypeSchema,
    host: hostField(),
    miner_app: minerAppField(),
    validator_uid: nullableUid().describe('Uid of the validator involved, when the line names one.'),
    validator_hotkey: nullableString().describe('SS58 hotkey of the validator involved (pull_failed).'),
    endpoint: nullableString().describe('Generation endpoint URL (worker_started).'),
    reason: nullableString().describe('The reason the miner logged (pull_failed).'),
    cooldown_seconds: nullableNumber().describe('Seconds of cooldown left (cooldown).'),
    cooldown_violations: nullableCount().describe('Total cooldown violations (cooldown).'),
    stats: MinerStatsSchema.nullable().describe('The figures of a miner_stats line; null for other events.'),
    source: SourceRef.describe('The line this event came from.'),
    schema_version: schemaVersionField(),
    collector_version: collectorVersionField(),
  })
  .describe('A miner event that belongs to no task: one line of miner_events.jsonl.');

export type MinerEvent = z.infer<typeof MinerEventSchema>;
export type MinerStats = NonNullable<MinerEvent['stats']>;

export interface MinerEventInit {
  time: string;
  event: MinerEventType;
  host: string;
  miner_app: string;
  source: { file: string; offset: number };
  collector_version: string;
}

/** An event with every key present; the caller sets the fields its event has. */
export function emptyMinerEvent(init: MinerEventInit): MinerEvent {
  return {
    time: init.time,
    event: init.event,
    host: init.host,
    miner_app: init.miner_app,
    validator_uid: null,
    validator_hotkey: null,
    endpoint: null,
    reason: null,
    cooldown_seconds: null,
    cooldown_violations: null,
    stats: null,
    source: { file: init.source.file, offset: init.source.offset },
    schema_version: SCHEMA_VERSION,
    collector_version: init.collector_version,
  };
}
