/**
 * The model and commands of follower.model.test.ts, apart so that a failing sequence can be replayed by hand.
 */
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../../../src/sources/checkpoint';
import { Follower } from '../../../src/sources/follower';
import type { SourceLogger } from '../../../src/sources/types';
import { removeDir, tempDir } from './tmp';

export interface Model {
  written: string[];
  /** The line the writer has begun (text, bytes written so far). */
  partial: { text: string; done: number } | null;
  lossy: boolean;
  /**
   * A copy-truncate after a commit made while the file was shorter than the fingerprint: on restart,
   * nothing tells that file from its truncated self (known limit), so a restart then may lose lines.
   */
  zoneCopy: boolean;
  /**
   * A copy-truncate not yet followed by a read to the end: if the file is renamed away now, and the
   * follower knew fewer than a fingerprint's bytes of it, the copy cannot be told from other rotated files
   * (known limit; with a full fingerprint it is found: see follower.test.ts).
   */
  copyUnread: boolean;
  /** Lines that were half written at a copy-truncate: after a loss, their ends may come alone. */
  cutLines: string[];
  /** One of the known limits above was hit: a line cut by the loss may come joined to another. */
  garbled: boolean;
  /** A rotation came while a line was half written: after any loss, its two halves may be joined wrongly. */
  straddled: boolean;
  /**
   * Destructive actions since the last read to the end. Two in a row where one loses bytes (flush,
   * delete) can hide the cut from the follower: a line cut by the loss may then come joined to another.
   */
  destructiveUnread: boolean;
  lossyUnread: boolean;
  /** A flush or delete since the last commit: a restart goes back across it, where the cut is invisible. */
  lossySinceCommit: boolean;
  accepted: string[];
  committed: number;
}

export interface Real {
  dir: string;
  file: string;
  fd: number;
  follower: Follower;
  committed: Checkpoint;
  next: number;
  rotations: number;
}

const FP = 16;
const STRICT = process.env.MODEL_STRICT === "1";

export let debugLogger: SourceLogger | undefined;
export function setDebugLogger(l: SourceLogger | undefined): void {
  debugLogger = l;
}

function newFollower(r: Real, checkpoint: Checkpoint | null): Follower {
  // Small reads and batches so that lines span reads and reads stop mid-file.
  return new Follower({ path: r.file, app: 'm', stream: 'out', checkpoint, chunkBytes: 37, maxBatchBytes: 300, fingerprintBytes: FP, logger: debugLogger });
}

/** `L<n>-` then padding that differs from line to line, as real log lines do (timestamps, ids). */
function makeLine(r: Real, pad: number): string {
  const n = r.next++;
  return `L${n}-${`${n.toString(36)}abcdefghijklmnopqrstuvwxyz`.repeat(Math.ceil(pad / 27)).slice(0, pad)}`;
}

function rotatedName(r: Real): string {
  return path.join(r.dir, `miner-out__2025-11-12_${String(r.rotations++).padStart(6, '0')}.log`);
}

function reopen(r: Real): void {
  fs.closeSync(r.fd);
  r.fd = fs.openSync(r.file, 'a');
}

/**
 * A line cut by a loss and joined to others is made of pieces of written lines: never a byte that was
 * not written. (Greedy longest pieces: a substring's prefixes are substrings too.)
 */
function joinOfPieces(written: string[], line: string): boolean {
  const text = written.join('\n');
  let i = 0;
  while (i < line.length) {
    let j = i + 1;
    if (!text.includes(line.slice(i, j))) return false;
    while (j < line.length && text.includes(line.slice(i, j + 1))) j++;
    i = j;
  }
  return true;
}

function check(m: Model, got: string[]): void {
  const seen = new Set(m.accepted);
  let last = m.accepted.length ? m.written.indexOf(m.accepted[m.accepted.length - 1]!) : -1;
  for (const line of got) {
    if (seen.has(line)) throw new Error(`line yielded twice: ${line}`);
    const at = m.written.indexOf(line);
    if (at < 0 && m.lossy && m.cutLines.some((t) => t.endsWith(line))) continue; // the end of a line cut by a loss
    if (at < 0 && (m.garbled || (m.lossy && m.straddled)) && joinOfPieces(m.written.concat(m.partial ? [m.partial.text] : []), line)) continue;
    if (at < 0) throw new Error(`line never written: ${line}`);
    if (at <= last) throw new Error(`line out of order: ${line}`);
    last = at;
    seen.add(line);
    m.accepted.push(line);
  }
}

function destructive(m: Model, lossy: boolean): void {
  if (m.lossyUnread || (lossy && m.destructiveUnread)) m.garbled = true;
  if (lossy) m.lossy = m.lossyUnread = m.lossySinceCommit = true;
  m.destructiveUnread = true;
}

export type Cmd = fc.AsyncCommand<Model, Real>;

export class Append implements Cmd {
  constructor(
    readonly count: number,
    readonly pad: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    let out = '';
    if (m.partial) {
      out += m.partial.text.slice(m.partial.done) + '\n';
      m.written.push(m.partial.text);
      m.partial = null;
    }
    for (let i = 0; i < this.count; i++) {
      const t = makeLine(r, this.pad);
      out += t + '\n';
      m.written.push(t);
    }
    fs.writeSync(r.fd, out);
  }
  toString = (): string => `Append(${this.count}, ${this.pad})`;
}

export class AppendPartial implements Cmd {
  constructor(readonly pad: number) {}
  check = (m: Readonly<Model>): boolean => m.partial === null;
  async run(m: Model, r: Real): Promise<void> {
    const text = makeLine(r, this.pad);
    const done = Math.ceil(text.length / 2);
    fs.writeSync(r.fd, text.slice(0, done));
    m.partial = { text, done };
  }
  toString = (): string => `AppendPartial(${this.pad})`;
}

export class RotateRename implements Cmd {
  constructor(readonly writeBeforeReopen: boolean) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    destructive(m, false);
    if (m.partial) m.straddled = true;
    if (m.copyUnread && !STRICT) m.lossy = m.garbled = true;
    fs.renameSync(r.file, rotatedName(r));
    if (this.writeBeforeReopen) await new Append(1, 3).run(m, r); // the writer has not reopened yet
    reopen(r);
  }
  toString = (): string => `RotateRename(${this.writeBeforeReopen})`;
}

export class CopyTruncate implements Cmd {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    destructive(m, false);
    if ((r.committed.identity?.fingerprintBytes ?? 0) < FP) m.zoneCopy = true;
    m.copyUnread = true;
    if (m.partial) m.cutLines.push(m.partial.text);
    if (m.partial) m.straddled = true;
    fs.copyFileSync(r.file, rotatedName(r));
    fs.truncateSync(r.file, 0);
  }
  toString = (): string => 'CopyTruncate';
}

export class Flush implements Cmd {
  check = (m: Readonly<Model>): boolean => m.partial === null;
  async run(m: Model, r: Real): Promise<void> {
    fs.truncateSync(r.file, 0);
    destructive(m, true);
  }
  toString = (): string => 'Flush';
}

export class DeleteRecreate implements Cmd {
  check = (m: Readonly<Model>): boolean => m.partial === null;
  async run(m: Model, r: Real): Promise<void> {
    fs.unlinkSync(r.file);
    reopen(r);
    destructive(m, true);
  }
  toString = (): string => 'DeleteRecreate';
}

export class Read implements Cmd {
  constructor(readonly times: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    for (let i = 0; i < this.times; i++) {
      const b = await r.follower.read();
      check(
        m,
        b.lines.map((l) => l.bytes.toString()),
      );
      if (b.caughtUp) m.copyUnread = m.destructiveUnread = m.lossyUnread = false;
    }
  }
  toString = (): string => `Read(${this.times})`;
}

export class Commit implements Cmd {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    r.committed = JSON.parse(JSON.stringify(r.follower.checkpoint())) as Checkpoint;
    m.committed = m.accepted.length;
    m.lossySinceCommit = false;
    m.zoneCopy &&= (r.committed.identity?.fingerprintBytes ?? 0) < FP;
  }
  toString = (): string => 'Commit';
}

export class Restart implements Cmd {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.follower.close();
    m.accepted.length = m.committed; // what was not committed is read again
    if (m.zoneCopy && !STRICT) m.lossy = m.garbled = true;
    if (m.lossySinceCommit) m.garbled = true;
    r.follower = newFollower(r, r.committed);
    await r.follower.start();
  }
  toString = (): string => 'Restart';
}

const append = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 200, max: 700 })))
  .map(([n, p]) => new Append(n, p));
const read = fc.integer({ min: 1, max: 3 }).map((n) => new Read(n));
// Appends and reads weigh more: sequences then hold dozens of lines between the rotations.
export const losslessCommands = [
  append,
  append,
  append,
  read,
  read,
  fc.integer({ min: 0, max: 100 }).map((p) => new AppendPartial(p)),
  fc.boolean().map((b) => new RotateRename(b)),
  fc.constant(new CopyTruncate()),
  fc.constant(new Commit()),
  fc.constant(new Restart()),
];
export const commands = [
  append,
  append,
  append,
  read,
  read,
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 200, max: 700 }))).map(([n, p]) => new Append(n, p)),
  fc.integer({ min: 0, max: 100 }).map((p) => new AppendPartial(p)),
  fc.boolean().map((b) => new RotateRename(b)),
  fc.constant(new CopyTruncate()),
  fc.constant(new Flush()),
  fc.constant(new DeleteRecreate()),
  fc.integer({ min: 1, max: 3 }).map((n) => new Read(n)),
  fc.constant(new Commit()),
  fc.constant(new Restart()),
];

export const tally: Record<string, { runs: number; lossless: number; garbled: number; lines: number }> = {};

export async function runModel(name: string, cmds: Iterable<Cmd>): Promise<void> {
  const t = (tally[name] ??= { runs: 0, lossless: 0, garbled: 0, lines: 0 });
  const dir = tempDir('model-');
  const file = path.join(dir, 'miner-out.log');
  const fd = fs.openSync(file, 'a');
  const real: Real = { dir, file, fd, follower: null as unknown as Follower, committed: null as unknown as Checkpoint, next: 0, rotations: 0 };
  // A first line before the follower starts: real logs are seldom empty, and an empty file is the known
  // limit (nothing to fingerprint) that would make most sequences lossy.
  const banner = makeLine(real, 30);
  fs.writeSync(fd, banner + '\n');
  real.follower = newFollower(real, null);
  await real.follower.start();
  real.committed = real.follower.checkpoint();
  const model: Model = {
    written: [banner], partial: null, lossy: false, zoneCopy: false, copyUnread: false, cutLines: [], garbled: false,
    straddled: false, destructiveUnread: false, lossyUnread: false, lossySinceCommit: false, accepted: [], committed: 0,
  };
  try {
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    // The end: read everything there is; without lossy actions, every line exactly once.
    for (;;) {
      const b = await real.follower.read();
      check(
        model,
        b.lines.map((l) => l.bytes.toString()),
      );
      if (b.caughtUp) break;
    }
    if (!model.lossy) expect(model.accepted).toEqual(model.written);
    t.runs++;
    t.lossless += model.lossy ? 0 : 1;
    t.garbled += model.garbled ? 1 : 0;
    t.lines += model.written.length;
  } finally {
    await real.follower.close();
    fs.closeSync(real.fd);
    removeDir(dir);
  }
}

