/**
 * One followed log file in the daemon: the follower reads ahead into a bounded queue; the loop hands
 * the queued lines to the parser (a line whose parsing throws is quarantined), flushes the last entry
 * once the file is idle, and asks where a checkpoint of this file may stand. The checkpoint is computed
 * from positions the data carries (the held event's, the open entry's, the last line's), never looked up.
 */
import { Follower, type Checkpoint, type Line } from '../sources';
import type { LogEvent, StreamParser, StreamSpec } from '../parse';
import type { Config } from '../config';
import type { Logger } from '../common/logger';
import type { Assembly } from './assembly';

/** The follower pauses when this much is read and not parsed (a stalled store: memory stays bounded). */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** An idle source's last entry, when a later write may still add to it (a traceback, a cut long line), waits this long. */
const IDLE_FLUSH_MS = 150;

export class LogSource {
  private readonly follower: Follower;
  private queue: { lines: Line[]; caughtUp: boolean }[] = [];
  private queuedBytes = 0;
  private caughtUpSinceMs = 0;
  /** The follower is at the file's end. */
  caughtUp = false;
  /** Just past the last line given to the parser (the follower may have read further). */
  private lastFed: Checkpoint | null;

  constructor(
    readonly id: string,
    readonly key: string,
    readonly spec: StreamSpec,
    readonly parser: StreamParser,
    checkpoint: Checkpoint | null,
    config: Pick<Config, 'startAt' | 'maxLineBytes'>,
    private readonly logger: Logger,
  ) {
    this.lastFed = checkpoint;
    this.follower = new Follower({
      path: spec.file,
      app: spec.app,
      stream: spec.stream,
      checkpoint,
      startAt: config.startAt,
      maxLineBytes: config.maxLineBytes,
      logger,
    });
  }

  /** Reads until `running()` is false, waking the loop at each batch; pauses while the queue is full. */
  async read(running: () => boolean, wake: () => void): Promise<void> {
    try {
      for await (const b of this.follower) {
        if (!running()) break;
        let bytes = 0;
        for (const l of b.lines) bytes += l.bytes.length;
        this.queue.push({ lines: b.lines, caughtUp: b.caughtUp });
        this.queuedBytes += bytes;
        wake();
        while (running() && this.queuedBytes > MAX_QUEUED_BYTES) await sleep(50);
      }
    } catch (err) {
      this.logger.error({ file: this.spec.file, error: (err as Error).message }, 'reading stopped');
    }
  }

  /** Hands the queued lines to the parser (its events go to the assembly); returns how many lines. */
  consume(assembly: Assembly, nowMs: number): number {
    let n = 0;
    for (const b of this.queue) {
      for (const l of b.lines) {
        this.queuedBytes -= l.bytes.length;
        try {
          this.parser.push(l);
        } catch (err) {
          assembly.quarantineLine(l, err);
        }
        this.lastFed = { path: this.spec.file, identity: l.source.identity, offset: l.end };
      }
      n += b.lines.length;
      // New lines: the parser may hold the last one open, so the source is not idle until the idle
      // flush has handed it on; events of other files must wait for it.
      if (b.lines.length) {
        assembly.setIdle(this.id, false);
        this.caughtUpSinceMs = nowMs;
      } else if (b.caughtUp && !this.caughtUp) this.caughtUpSinceMs = nowMs;
      this.caughtUp = b.caughtUp;
      assembly.setCaughtUp(this.id, b.caughtUp);
      if (!b.caughtUp) assembly.setIdle(this.id, false);
    }
    this.queue = [];
    return n;
  }

  /** At the file's end, the last entry is handed on once no later write can add to it. */
  flushIfIdle(assembly: Assembly, nowMs: number): void {
    if (this.caughtUp && (!this.parser.openEntryMayContinue() || nowMs - this.caughtUpSinceMs >= IDLE_FLUSH_MS)) {
      this.parser.flush();
      assembly.setIdle(this.id, true);
    }
  }

  /** An entry waits at the file's end for a later write (the loop comes back soon for it). */
  get holdsOpenEntry(): boolean {
    return this.caughtUp && this.parser.pendingAt() !== null;
  }

  /**
   * Where this file may resume: at the first event the tracker has not taken yet, else at the entry
   * the parser still holds, else just past the last line given to the parser (all of it is in the
   * snapshot). Never the follower's own position: it may have read lines not parsed yet.
   */
  checkpoint(held: LogEvent | undefined): Checkpoint | null {
    const path = this.spec.file;
    if (held) return { path, identity: held.identity, offset: held.offset };
    const pending = this.parser.pendingAt();
    if (pending) return { path, ...pending };
    return this.lastFed;
  }

  close(): Promise<void> {
    return this.follower.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
