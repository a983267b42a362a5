/**
 * Wake-ups for a follower: `fs.watch` on the file's directory (inotify on Linux: no polling), plus a
 * slow timer as the fallback for what events miss (another file system, a directory re-created, writes
 * to a renamed file under another name). An event only means "look again": the follower re-stats.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_STAT_INTERVAL_MS = 1000;

export interface WakeSource {
  /** Forget the wake-ups seen so far: the read about to start covers them. */
  clear(): void;
  /** Resolves at the next wake-up (at once if one came since `clear`). */
  next(): Promise<void>;
  close(): void;
}

export class DirWatcher implements WakeSource {
  private fsw: fs.FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;
  private dirty = true;
  private waiter: (() => void) | null = null;
  private closed = false;
  private readonly dir: string;
  private readonly stem: string;

  constructor(file: string, intervalMs: number = DEFAULT_STAT_INTERVAL_MS) {
    this.dir = path.dirname(file);
    const base = path.basename(file);
    this.stem = base.slice(0, base.length - path.extname(base).length);
    this.watch();
    this.timer = setInterval(() => {
      if (!this.fsw) this.watch();
      this.wake();
    }, intervalMs);
  }

  private watch(): void {
    try {
      const w = fs.watch(this.dir, (_event, name) => {
        // Other apps' files share PM2's log directory: ignore their writes.
        if (name === null || String(name).startsWith(this.stem)) this.wake();
      });
      w.on('error', () => {
        w.close();
        if (this.fsw === w) this.fsw = null;
      });
      this.fsw = w;
    } catch {
      this.fsw = null; // the directory does not exist yet: the timer retries
    }
  }

  private wake(): void {
    this.dirty = true;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  clear(): void {
    this.dirty = false;
  }

  next(): Promise<void> {
    if (this.dirty || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.fsw?.close();
    this.fsw = null;
    this.wake();
  }
}
