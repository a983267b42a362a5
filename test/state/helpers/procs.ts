/** Child processes for the state tests: started from the built JS, tracked, and killed by pid. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const started = new Set<ChildProcess>();

/** Path of a helper's compiled JS; `npx tsc -p .` must have run. */
export function builtHelper(name: string): string {
  const file = path.join(ROOT, 'dist/test/state/helpers', `${name}.js`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: build first (npx tsc -p .)`);
  return file;
}

export function startNode(helper: string, args: string[]): ChildProcess {
  return track(spawn(process.execPath, [builtHelper(helper), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

export function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** Resolves with the first stdout line starting with `prefix`. */
export function waitForLine(child: ChildProcess, prefix: string, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`no "${prefix}" line from pid ${child.pid} within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) done(null, line);
    };
    const onErr = (d: Buffer): void => {
      err += d.toString();
    };
    const onExit = (code: number | null): void => done(new Error(`pid ${child.pid} exited (${code}) before "${prefix}"; stdout: ${buf} stderr: ${err}`));
    function done(e: Error | null, line?: string): void {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(line!);
    }
    child.stdout!.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGKILLs one child by its pid and waits until it is reaped. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await exited(child);
}

/** For afterEach/afterAll: kill every child these tests started, each by its own pid. */
export async function killAllStarted(): Promise<void> {
  await Promise.all([...started].map((c) => killHard(c)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
