import {
  SCHEMA_VERSION,
  emptyMinerEvent,
  parseMinerConfigHistoryLine,
  parseMinerEventLine,
  serializeMinerConfigHistoryEntry,
  serializeMinerEvent,
  type MinerConfigHistoryEntry,
  type MinerEvent,
} from '../../src/schema';

const configChange = (): MinerConfigHistoryEntry => ({
  time: '2025-11-12T21:31:08.361Z',
  host: 'gpu-box-1',
  miner_app: 'miner-sn17-mainnet',
  changes: [
    { key: 'trellis_slat_steps', old: 30, new: 35 },
    { key: 'trellis_sparse_steps', old: null, new: 45 },
  ],
  config: { trellis_sparse_steps: 45, trellis_slat_steps: 35, clip_threshold: 0.1 },
  generation_id: '10f23ef3-7c4e-5a45-afba-950be10ec238',
  source: { kind: 'log', file: '/home/miner/.pm2/logs/gen-worker-1-error.log', offset: 20480 },
  schema_version: SCHEMA_VERSION,
  collector_version: '0.1.0',
});

describe('miner_config_history.jsonl entry', () => {
  test('validates and round-trips as one compact line', () => {
    const line = serializeMinerConfigHistoryEntry(configChange());
    expect(line).not.toMatch(/\n/);
    expect(line).toContain('{"key":"trellis_slat_steps","old":30,"new":35}');
    expect(parseMinerConfigHistoryLine(line)).toEqual({ ok: true, record: configChange() });
  });

  test('a config file source has no offset; an entry without changes is refused', () => {
    const e = configChange();
    e.source = { kind: 'config_file', file: '/srv/worker/config.yaml', offset: null };
    expect(() => serializeMinerConfigHistoryEntry(e)).not.toThrow();
    e.changes = [];
    expect(() => serializeMinerConfigHistoryEntry(e)).toThrow(/changes: Too small/);
  });
});

describe('miner_events.jsonl entry', () => {
  const stats = (): MinerEvent => ({
    ...emptyMinerEvent({
      time: '2025-11-12T21:30:00.004Z',
      event: 'miner_stats',
      host: 'gpu-box-1',
      miner_app: 'miner-sn17-mainnet',
      source: { file: '/home/miner/.pm2/logs/miner-sn17-mainnet-out.log', offset: 4096 },
      collector_version: '0.1.0',
    }),
    stats: { uid: 226, block: 4712345, stake: 1204.5, trust: 0.98, incentive: 0.0031, emission: 1.27 },
  });

  test('every key is present whatever the event, in schema order', () => {
    const line = serializeMinerEvent(stats());
    expect(Object.keys(JSON.parse(line) as object)).toEqual([
      'time', 'event', 'host', 'miner_app', 'validator_uid', 'validator_hotkey', 'endpoint', 'reason',
      'cooldown_seconds', 'cooldown_violations', 'stats', 'source', 'schema_version', 'collector_version',
    ]);
    expect(line).toContain('"event":"miner_stats"');
    expect(parseMinerEventLine(line)).toEqual({ ok: true, record: stats() });
  });

  test('an unknown event type is refused with its path', () => {
    const e = { ...stats(), event: 'coffee_break' } as unknown as MinerEvent;
    expect(() => serializeMinerEvent(e)).toThrow(/invalid miner event: event: Invalid option/);
  });
});
