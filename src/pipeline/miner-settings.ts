/**
 * Follows the miner's settings file while the daemon runs (a stat per loop, no watcher to lose when
 * an editor replaces the file): its values go into the records of tasks
 * received from then on, and each change is appended to miner_config_history.jsonl (the first read
 * too, when it differs from the history's last entry).
 */
import * as fs from 'node:fs';
import { diffSettings, readMinerSettings, type Settings } from '../config';
import { SCHEMA_VERSION, type MinerConfigHistoryEntry } from '../schema';
import type { JsonlStore } from '../sinks';
import type { Logger } from '../common/logger';
import { VERSION } from '../version';

function lastEntry(file: string): MinerConfigHistoryEntry | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd();
    return text ? (JSON.parse(text.slice(text.lastIndexOf('\n') + 1)) as MinerConfigHistoryEntry) : null;
  } catch {
    return null;
  }
}

export class MinerSettingsWatch {
  private current: Settings = {};
  private seen = '';

  constructor(
    private readonly file: string,
    private readonly history: JsonlStore<MinerConfigHistoryEntry>,
    private readonly meta: { host: string; minerApp: string },
    private readonly onChange: (settings: Settings) => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.current = lastEntry(this.history.file)?.config ?? {};
    await this.poll();
  }

  /** Reads the file again if it changed (size or mtime); the daemon's loop calls this about once a second. */
  async poll(): Promise<void> {
    let stamp = '';
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      /* missing for now: check() says so */
    }
    if (stamp !== '' && stamp === this.seen) return;
    this.seen = stamp;
    await this.check();
  }

  async check(): Promise<void> {
    let next: Settings;
    let mtimeMs: number;
    try {
      next = readMinerSettings(this.file);
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch (err) {
      this.logger.warn({ file: this.file, error: (err as Error).message }, 'miner settings file not readable; keeping the previous settings');
      return;
    }
    const changes = diffSettings(this.current, next);
    if (changes.length) {
      await this.history.append([
        {
          time: new Date(Math.floor(mtimeMs)).toISOString(),
          host: this.meta.host,
          miner_app: this.meta.minerApp,
          changes,
          config: next,
          generation_id: null,
          source: { kind: 'config_file', file: this.file, offset: null },
          schema_version: SCHEMA_VERSION,
          collector_version: VERSION,
        },
      ]);
      this.logger.info({ file: this.file, changed: changes.map((c) => c.key) }, 'miner settings changed');
    }
    this.current = next;
    this.onChange(next);
  }
}
