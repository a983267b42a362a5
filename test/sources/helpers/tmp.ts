/** Shared test helpers: temp dirs and draining a follower. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Follower } from '../../../src/sources/follower';
import type { Line } from '../../../src/sources/types';

export function tempDir(prefix = 'sources-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Reads until the follower is caught up; returns the lines (as text) read meanwhile. */
export async function drain(f: Follower, into: Line[] = []): Promise<string[]> {
  for (;;) {
    const b = await f.read();
    into.push(...b.lines);
    if (b.caughtUp) return into.map((l) => l.bytes.toString('latin1'));
  }
}

export function texts(lines: Line[]): string[] {
  return lines.map((l) => l.bytes.toString('latin1'));
}
