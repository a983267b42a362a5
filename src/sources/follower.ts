/**
 * Follows one path by name, like `tail -F`, with byte offsets and checkpoints.
 *
 * The follower keeps a short list of open files, oldest first: usually just the file at the path; after
 * a rotation the old file (read to its end first), any rotated siblings written after it, then the new
 * file. Concatenated, the list is the stream the writer produced, so a line cut by a rotation is joined.
 * Each `read()` re-stats (events are only hints), handles rotation and truncation, and reads to the end
 * or to a batch limit. Nothing here knows what a line means.
 */
import type * as fs from 'node:fs';
import type { Checkpoint, FileIdentity } from './checkpoint';
import { closeQuietly, fstat, openOrNull, pread, preadFully, statOrNull } from './file-reader';
import { DEFAULT_FINGERPRINT_BYTES, fingerprintMatches, identityOf, sameInode } from './identity';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter';
import { rotatedSiblings, type Sibling } from './siblings';
import { emptyStats, silentLogger, type Batch, type Line, type SourceLogger, type SourceRef, type SourceStats } from './types';
import { DEFAULT_STAT_INTERVAL_MS, DirWatcher, type WakeSource } from './watcher';

export interface FollowerOptions {
  path: string;
  app: string;
  stream: string;
  /** The last committed checkpoint for this path, if any. */
  checkpoint?: Checkpoint | null;
  /** Where a file never seen before (no checkpoint) starts: its beginning (default) or its end. */
  startAt?: 'beginning' | 'end';
  maxLineBytes?: number;
  /** Read size (default 1 MiB). */
  chunkBytes?: number;
  /** A read returns once this many bytes were read (default 4 MiB); lines are never cut. */
  maxBatchBytes?: number;
  fingerprintBytes?: number;
  logger?: SourceLogger;
  /** The slow stat fallback (default 1 s). */
  statIntervalMs?: number;
  /** For tests: replaces the directory watcher. */
  wakeSource?: () => WakeSource;
}

interface Tracked {
  fd: number;
  source: SourceRef;
  pos: number;
  /** Size and mtime at the last look: unchanged means nothing to check. */
  size: number;
  /** The size fstat gave at the last look (`size` may move past it as reading finds more). */
  statSize?: number;
  mtimeMs: number;
  /** Copy of the last bytes before `pos` (up to TAIL_BYTES): if they changed, the file was rewritten. */
  tail: Buffer;
  /** Bytes were lost right after this file (a copy-truncate window): a line cut at its end is not joined. */
  lossAfter?: boolean;
}

const LF = 0x0a;
const MAX_SKIPPED_KEPT = 100;
const TAIL_BYTES = 64;
const EMPTY = Buffer.alloc(0);

const inodeKey = (x: { dev: number; ino: number }): string => `${x.dev}:${x.ino}`;

export class Follower implements AsyncIterable<Batch> {
  readonly path: string;
  private readonly app: string;
  private readonly stream: string;
  private readonly opts: FollowerOptions;
  private readonly chunkBytes: number;
  private readonly maxBatchBytes: number;
  private readonly fpBytes: number;
  private readonly log: SourceLogger;
  private readonly splitter: LineSplitter;
  private readonly counters: SourceStats = emptyStats();

  private files: Tracked[] = [];
  /** Just past the last complete line (yielded or skipped): what `checkpoint()` returns. */
  private markIdentity: FileIdentity | null = null;
  private markOffset = 0;
  private started: Promise<void> | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;
  private caughtUp = false;
  private lastFailure = '';
  private lastFailureLoggedMs = 0;
  private wakeSource: WakeSource | null = null;
  /** Rotated siblings (dev:ino) seen at the previous directory scan. */
  private knownSiblings = new Set<string>();
  /** Files read to their end (latest first): never read again, nor taken for a copy. */
  private finished: FileIdentity[] = [];

  // The read in progress: where the splitter's callbacks put their lines.
  private batch: Line[] = [];
  private reading: Tracked | null = null;
  private readonly onLine: (bytes: Buffer, offset: number, end: number) => void;
  private readonly onSkip: (offset: number, length: number, end: number) => void;

  constructor(opts: FollowerOptions) {
    this.opts = opts;
    this.path = opts.path;
    this.app = opts.app;
    this.stream = opts.stream;
    this.chunkBytes = opts.chunkBytes ?? 1024 * 1024;
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 * 1024 * 1024;
    this.fpBytes = opts.fingerprintBytes ?? DEFAULT_FINGERPRINT_BYTES;
    this.log = opts.logger ?? silentLogger;
    this.splitter = new LineSplitter(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.onLine = (bytes, offset, end) => {
      const f = this.reading!;
      this.batch.push({ bytes, source: f.source, offset, end });
      this.counters.lines++;
      this.counters.bytes += end - offset;
      this.markIdentity = f.source.identity;
      this.markOffset = end;
    };
    this.onSkip = (offset, length, end) => {
      const f = this.reading!;
      const c = this.counters;
      c.skippedLines++;
      c.skippedBytes += length;
      c.skippedLineOffsets.push({ path: f.source.path, offset, bytes: length });
      if (c.skippedLineOffsets.length > MAX_SKIPPED_KEPT) c.skippedLineOffsets.shift();
      this.log.warn({ path: f.source.path, offset, bytes: length }, 'line longer than maxLineBytes skipped');
      this.markIdentity = f.source.identity;
      this.markOffset = end;
    };
  }

  /** Where reading would resume: just past the last line yielded or skipped. Commit it once they are durable. */
  checkpoint(): Checkpoint {
    return { path: this.path, identity: this.markIdentity, offset: this.markOffset };
  }

  /** The checkpoint just past `line` (one of this follower's lines). */
  checkpointAfter(line: Line): Checkpoint {
    return { path: this.path, identity: line.source.identity, offset: line.end };
  }

  /** True when the last read reached the end of everything there is to read. */
  isCaughtUp(): boolean {
    return this.caughtUp;
  }

  stats(): SourceStats {
    const c = this.counters;
    return { ...c, nulBytes: this.splitter.nulBytes, skippedLineOffsets: [...c.skippedLineOffsets] };
  }

  /** Opens the path and resolves the checkpoint. Called by the first `read()`; idempotent. */
  start(): Promise<void> {
    this.started ??= this.resume().catch((err: unknown) => {
      this.started = null; // try again at the next read
      throw err;
    });
    return this.started;
  }

  /** Reads what is there now: complete lines, up to about `maxBatchBytes`. Never waits for more. */
  read(): Promise<Batch> {
    const next = this.busy.then(() => this.readOnce());
    this.busy = next.catch(() => {});
    return next;
  }

  /**
   * Batches as they come: lines, and a batch (possibly empty) whenever `caughtUp` changes. A file-system
   * error (permissions, I/O) is logged and retried at the next wake-up: following never stops by itself.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    this.wakeSource ??= this.opts.wakeSource?.() ?? new DirWatcher(this.path, this.opts.statIntervalMs ?? DEFAULT_STAT_INTERVAL_MS);
    const wake = this.wakeSource;
    let wasCaughtUp: boolean | null = null;
    while (!this.closed) {
      wake.clear();
      let b: Batch;
      try {
        b = await this.read();
      } catch (err) {
        // the same failure once an hour, not at every wake-up
        const what = String(err);
        if (what !== this.lastFailure || Date.now() - this.lastFailureLoggedMs >= 3_600_000) {
          this.log.warn({ path: this.path, err: what }, 'reading failed; retrying at the next wake-up (said again hourly while it lasts)');
          this.lastFailure = what;
          this.lastFailureLoggedMs = Date.now();
        }
        await wake.next();
        continue;
      }
      if (this.closed) return;
      if (b.lines.length > 0 || b.caughtUp !== wasCaughtUp) yield b;
      wasCaughtUp = b.caughtUp;
      if (b.caughtUp && b.lines.length === 0) await wake.next();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeSource?.close();
    await this.busy;
    for (const f of this.files) closeQuietly(f.fd);
    this.files = [];
  }

  // ---- opening and resuming ----

  private async openTracked(path: string): Promise<Tracked | null> {
    const fd = await openOrNull(path);
    if (fd === null) return null;
    try {
      const st = await fstat(fd);
      const identity = await identityOf(fd, st, this.fpBytes);
      return { fd, source: this.sourceRef(path, identity), pos: 0, size: st.size, mtimeMs: st.mtimeMs, tail: EMPTY };
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  private sourceRef(path: string, identity: FileIdentity): SourceRef {
    return { app: this.app, stream: this.stream, path, identity };
  }

  private async tailBefore(fd: number, pos: number): Promise<Buffer> {
    const from = Math.max(0, pos - TAIL_BYTES);
    return Buffer.from(await preadFully(fd, from, pos - from));
  }

  /** True when the bytes just before `pos` in `fd` are `tail`. */
  private async tailMatches(fd: number, pos: number, tail: Buffer): Promise<boolean> {
    if (tail.length === 0) return true;
    return (await preadFully(fd, pos - tail.length, tail.length)).equals(tail);
  }

  /** Same first bytes as `id`, and the same bytes before `pos` as `tail`: the bytes we read are there. */
  private async holds(t: Tracked, id: FileIdentity, pos: number, tail: Buffer): Promise<boolean> {
    return t.size >= pos && (await fingerprintMatches(t.fd, id)) && (await this.tailMatches(t.fd, pos, tail));
  }

  private setPos(t: Tracked, pos: number, tail: Buffer): Tracked {
    t.pos = pos;
    t.tail = tail;
    return t;
  }

  private setMark(identity: FileIdentity, offset: number): void {
    this.markIdentity = identity;
    this.markOffset = offset;
  }

  /** Rotated siblings, and which of them appeared since the previous scan. */
  private async scan(): Promise<{ all: Sibling[]; fresh: Set<Sibling> }> {
    const all = await rotatedSiblings(this.path);
    const fresh = new Set(all.filter((s) => !this.knownSiblings.has(inodeKey(s.st))));
    this.knownSiblings = new Set(all.map((s) => inodeKey(s.st)));
    return { all, fresh };
  }

  private async wasFinished(t: Tracked): Promise<boolean> {
    for (const id of this.finished) if (sameInode(id, t.source.identity) && (await fingerprintMatches(t.fd, id))) return true;
    return false;
  }

  private isTracked(x: { dev: number; ino: number }): boolean {
    return this.files.some((f) => sameInode(f.source.identity, x));
  }

  private async resume(): Promise<void> {
    const cp = this.opts.checkpoint ?? null;
    const atPath = await this.openTracked(this.path);
    const { all: siblings } = await this.scan();
    if (!cp || cp.identity === null) {
      if (atPath && !cp && this.opts.startAt === 'end' && atPath.size > 0) {
        const tail = await this.tailBefore(atPath.fd, atPath.size);
        this.setPos(atPath, atPath.size, tail);
        if (tail[tail.length - 1] !== LF) this.splitter.skipToNextLine(); // a line being written: start after it
      }
      if (atPath) this.files = [atPath];
      if (atPath && this.splitter.atBoundary()) this.setMark(atPath.source.identity, atPath.pos);
      return;
    }
    const id = cp.identity;
    const lf = cp.offset > 0 ? Buffer.from([LF]) : EMPTY; // a checkpoint is always just past a newline
    this.setMark(id, cp.offset);
    if (atPath && sameInode(atPath.source.identity, id) && (await this.holds(atPath, id, cp.offset, lf))) {
      this.files = [this.setPos(atPath, cp.offset, await this.tailBefore(atPath.fd, cp.offset))];
      return;
    }
    // The path holds another file now: the checkpointed one was rotated while we were down. Look for it
    // by inode (renamed), else by content (pm2-logrotate's copy), newest first.
    const byInode = siblings.findIndex((s) => sameInode(s.st, id));
    // (An empty fingerprint matches any file: then only the inode can tell.)
    const byContent = id.fingerprintBytes > 0 ? siblings.map((_, i) => siblings.length - 1 - i).filter((i) => i !== byInode) : [];
    const order = [...(byInode >= 0 ? [byInode] : []), ...byContent];
    let found: { t: Tracked; index: number } | null = null;
    for (const i of order) {
      const s = siblings[i]!;
      if (s.st.size < cp.offset || (atPath && sameInode(s.st, atPath.source.identity))) continue;
      const t = await this.openTracked(s.path);
      if (t && (await this.holds(t, id, cp.offset, lf))) {
        found = { t: this.setPos(t, cp.offset, await this.tailBefore(t.fd, cp.offset)), index: i };
        break;
      }
      if (t) closeQuietly(t.fd);
    }
    if (!found) {
      this.log.warn(
        { path: this.path, checkpoint: cp },
        'the checkpointed file is gone (not at the path nor among its rotated siblings): reading the path from its start',
      );
      if (atPath) this.files = [atPath];
      return;
    }
    this.log.info({ path: this.path, rotated: found.t.source.path, offset: cp.offset }, 'finishing the rotated file first');
    this.files = [found.t];
    const newer = await this.openNewer(siblings, found.index, atPath);
    this.files.push(...newer, ...(atPath ? [atPath] : []));
  }

  /** Opens the siblings after `index` (written later), skipping files already held. */
  private async openNewer(siblings: Sibling[], index: number, alsoHeld: Tracked | null): Promise<Tracked[]> {
    const out: Tracked[] = [];
    for (const s of siblings.slice(index + 1)) {
      if (this.isTracked(s.st) || out.some((o) => sameInode(o.source.identity, s.st))) continue;
      if (alsoHeld && sameInode(alsoHeld.source.identity, s.st)) continue;
      const t = await this.openTracked(s.path);
      if (t && (await this.wasFinished(t))) closeQuietly(t.fd);
      else if (t) out.push(t);
    }
    return out;
  }

  // ---- each read ----

  private async readOnce(): Promise<Batch> {
    await this.start();
    if (this.closed) return { lines: [], caughtUp: this.caughtUp };
    await this.refresh();
    const lines: Line[] = [];
    this.batch = lines;
    let bytes = 0;
    let atEnd = true;
    // One read ahead while the current chunk is split: the read runs on libuv's thread meanwhile.
    let ahead: { f: Tracked; pos: number; read: Promise<Buffer> } | null = null;
    while (this.files.length > 0) {
      const f = this.files[0]!;
      let chunk: Buffer;
      if (ahead && ahead.f === f && ahead.pos === f.pos) chunk = await ahead.read;
      else if (f.pos >= f.size && f.size === f.statSize) chunk = EMPTY; // just stat'ed: nothing new, no read
      else chunk = await pread(f.fd, f.pos, f.pos < f.size ? Math.min(this.chunkBytes, f.size - f.pos) : 64 * 1024);
      ahead = null;
      const next: number = f.pos + chunk.length;
      if (chunk.length > 0 && next < f.size && bytes + chunk.length < this.maxBatchBytes) {
        const read = pread(f.fd, next, Math.min(this.chunkBytes, f.size - next));
        read.catch(() => {}); // awaited below; an error surfaces there
        ahead = { f, pos: next, read };
      }
      if (chunk.length === 0) {
        if (this.files.length > 1 && this.files.slice(1).some((g) => g.size > 0)) {
          this.nextFile();
          continue;
        }
        break;
      }
      this.reading = f;
      this.splitter.push(chunk, f.pos, this.onLine, this.onSkip);
      f.pos += chunk.length;
      f.tail =
        chunk.length >= TAIL_BYTES
          ? Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES))
          : Buffer.concat([f.tail, chunk]).subarray(-TAIL_BYTES);
      if (f.pos > f.size) f.size = f.pos;
      if (f.source.identity.fingerprintBytes < this.fpBytes && f.pos > f.source.identity.fingerprintBytes) {
        // The file was short when first seen: lengthen its fingerprint while we are at its start (and in
        // the checkpoint: a longer fingerprint tells this file from its truncated self after a restart).
        const old = f.source.identity;
        f.source = this.sourceRef(f.source.path, await identityOf(f.fd, await fstat(f.fd), this.fpBytes));
        if (this.markIdentity === old) this.markIdentity = f.source.identity;
      }
      bytes += chunk.length;
      if (bytes >= this.maxBatchBytes) {
        atEnd = false;
        break;
      }
    }
    this.batch = [];
    this.reading = null;
    this.caughtUp = atEnd;
    return { lines, caughtUp: atEnd };
  }

  /** The head file is finished: move to the next one. A pending partial line continues there. */
  private nextFile(): void {
    const done = this.files.shift()!;
    closeQuietly(done.fd);
    this.finished.unshift(done.source.identity);
    this.finished.length = Math.min(this.finished.length, 64);
    const next = this.files[0]!;
    if (done.lossAfter && !this.splitter.atBoundary()) {
      const dropped = this.splitter.reset();
      this.counters.lostBytes += dropped;
      this.log.warn({ path: done.source.path, offset: done.pos - dropped, bytes: dropped }, 'line cut by a copy-truncate dropped');
    }
    if (this.splitter.atBoundary()) this.setMark(next.source.identity, next.pos);
    else this.splitter.rebase();
  }

  /**
   * Re-stats (events are only hints): each held file may have been truncated or rewritten (copy-truncate,
   * flush), and the path may hold a new file (rename, delete + re-create).
   */
  private async refresh(): Promise<void> {
    if (this.files.length === 0) {
      const t = await this.openTracked(this.path); // appeared after start: read from its beginning
      if (!t) return;
      this.files = [t];
      if (this.splitter.atBoundary()) this.setMark(t.source.identity, 0);
    }
    const st = await statOrNull(this.path);
    for (let i = 0; i < this.files.length; i++) {
      const f = this.files[i]!;
      const now = await fstat(f.fd);
      if (now.size !== f.size || now.mtimeMs !== f.mtimeMs) {
        const copy = await this.truncation(f, now, st !== null && sameInode(st, now));
        if (copy !== false) {
          i += await this.truncated(i, now, copy);
          continue;
        }
      }
      f.size = now.size;
      f.statSize = now.size;
      f.mtimeMs = now.mtimeMs;
    }
    const last = this.files[this.files.length - 1]!;
    if (st && !sameInode(st, last.source.identity)) await this.rotated(last);
  }

  /**
   * Whether `f` was truncated (or rewritten) since we read it: false, or the copy of it to finish first
   * (null when there is none). Shrinking below our offset, other first bytes, or other bytes before our
   * offset give it away; while the file at the path is shorter than a fingerprint, so that none of that
   * may show, a new rotated sibling holding what we read while the file no longer starts with it does.
   */
  private async truncation(f: Tracked, now: fs.Stats, atPath: boolean): Promise<Sibling | null | false> {
    const id = f.source.identity;
    // The fingerprint means something even before our first read: it was taken at open.
    const cut =
      now.size < f.pos || !(await fingerprintMatches(f.fd, id)) || !(await this.tailMatches(f.fd, f.pos, f.tail));
    if (!cut && (id.fingerprintBytes >= this.fpBytes || !atPath)) return false;
    const { all, fresh } = await this.scan();
    // Candidates: siblings that hold what we read; new ones first (oldest first), then the newest others.
    const candidates = [...all.filter((s) => fresh.has(s)), ...all.filter((s) => !fresh.has(s)).reverse()];
    for (const s of candidates) {
      if (s.st.size < f.pos || this.isTracked(s.st)) continue;
      if (!cut && !fresh.has(s)) continue;
      const t = await this.openTracked(s.path);
      if (!t) continue;
      try {
        if (!(await this.holds(t, id, f.pos, f.tail)) || (await this.wasFinished(t))) continue;
        if (cut) return s;
        // Not visibly cut: a new copy proves a truncate only if the file no longer starts like it.
        const k = Math.min(s.st.size, this.fpBytes);
        const mine = await preadFully(f.fd, 0, k);
        const theirs = await preadFully(t.fd, 0, k);
        if (now.size < s.st.size || !mine.equals(theirs)) return s;
      } finally {
        closeQuietly(t.fd);
      }
    }
    return cut ? null : false;
  }

  private async rotated(last: Tracked): Promise<void> {
    const t = await this.openTracked(this.path);
    if (!t) return;
    if (sameInode(t.source.identity, last.source.identity)) {
      closeQuietly(t.fd);
      return;
    }
    // Files rotated after ours but before the one now at the path (several rotations between two looks).
    const { all, fresh } = await this.scan();
    const index = all.findIndex((s) => sameInode(s.st, last.source.identity));
    // Deleted: the files rotated since the last scan came after it, if we know enough of ours to tell a copy.
    const newer =
      index >= 0
        ? await this.openNewer(all, index, t)
        : last.source.identity.fingerprintBytes > 0
          ? await this.openFresh(all, fresh, last, t)
          : [];
    this.counters.rotations++;
    this.log.info({ path: this.path, from: last.source.path, between: newer.map((n) => n.source.path) }, 'file rotated');
    this.files.push(...newer, t);
  }

  /**
   * Our file was deleted, not renamed: the rotated files that appeared since the last scan came after it
   * (a copy of our own file excepted).
   */
  private async openFresh(all: Sibling[], fresh: Set<Sibling>, last: Tracked, atPath: Tracked): Promise<Tracked[]> {
    const out: Tracked[] = [];
    for (const s of all) {
      if (!fresh.has(s) || this.isTracked(s.st) || sameInode(s.st, atPath.source.identity)) continue;
      const t = await this.openTracked(s.path);
      if (!t) continue;
      if ((await fingerprintMatches(t.fd, last.source.identity)) || (await this.wasFinished(t))) closeQuietly(t.fd);
      else out.push(t);
    }
    return out;
  }

  /**
   * files[i] was truncated. With its copy (pm2-logrotate), the copy is finished from our offset first, then
   * any later copies; without, what we had not read is counted as lost. Returns how many files were put
   * before files[i].
   */
  private async truncated(i: number, now: fs.Stats, copy: Sibling | null): Promise<number> {
    const f = this.files[i]!;
    const isHead = i === 0;
    this.counters.truncations++;
    const inserted: Tracked[] = [];
    let lost: number;
    const c = copy ? await this.openTracked(copy.path) : null;
    if (c) {
      this.setPos(c, f.pos, f.tail);
      const { all } = await this.scan();
      const index = all.findIndex((s) => sameInode(s.st, c.source.identity));
      // Later copies come before the file's own bytes; if it was renamed since, files after it do not,
      // and if it was deleted, which came after it cannot be told: none are taken (no line twice).
      const self = all.findIndex((s) => sameInode(s.st, f.source.identity));
      const atPath = sameInode((await statOrNull(this.path)) ?? { dev: -1, ino: -1 }, f.source.identity);
      const upTo = atPath ? all : self > index ? all.slice(0, self) : [];
      inserted.push(c, ...(await this.openNewer(upTo, index, c)));
      lost = Math.max(0, f.size - c.size);
      c.lossAfter = lost > 0;
      this.counters.copiesRead++;
      this.log.info({ path: f.source.path, copy: c.source.path, offset: f.pos }, 'copy-truncate: finishing the copy');
    } else {
      lost = Math.max(0, f.size - f.pos) + (isHead ? this.splitter.reset() : 0);
      // The previous file's last partial line cannot continue here: its continuation is gone.
      if (!isHead) this.files[i - 1]!.lossAfter = true;
    }
    const identity = await identityOf(f.fd, now, this.fpBytes);
    f.source = this.sourceRef(f.source.path, identity);
    this.setPos(f, 0, EMPTY);
    f.size = now.size;
    f.mtimeMs = now.mtimeMs;
    if (isHead && !c) this.setMark(identity, 0);
    if (lost > 0) {
      this.counters.lostBytes += lost;
      this.log.warn(
        { path: f.source.path, lostBytes: lost, copy: c?.source.path ?? null },
        'file truncated before these bytes were read: they are lost',
      );
    }
    this.files.splice(i, 0, ...inserted);
    return inserted.length;
  }
}
