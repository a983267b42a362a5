/**
 * Replays a real competition state repository (a git bundle of test/fixtures/competition/) commit by
 * commit, as the validators pushed it: a bare "upstream" whose `main` starts at an early commit, and
 * the collector's clone of it. `advance` moves upstream `main` forward (first-parent order, oldest
 * first) so that refreshStateRepo(local) fast-forwards to it. Real git, synchronous (test setup).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const COMPETITION_FIXTURES = path.join(__dirname, '..', 'fixtures', 'competition');
export const COMPETITION_0_BUNDLE = path.join(COMPETITION_FIXTURES, '404-competition-0.bundle');
export const ACTIVE_COMPETITION_BUNDLE = path.join(COMPETITION_FIXTURES, '404-active-competition.bundle');

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
/** Identity for commits the tests make in their temp repositories. */
const AUTHOR = ['-c', 'user.name=state-repo-test', '-c', 'user.email=state-repo-test@example.invalid'];

/** Runs git in `dir`; its stdout, trimmed. */
export function gitSync(dir: string, args: string[], input?: string): string {
  return execFileSync('git', ['-C', dir, ...AUTHOR, ...args], { env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

/** Committer time (ms) of a commit. */
export function commitMs(dir: string, sha: string): number {
  return Number(gitSync(dir, ['log', '-1', '--format=%ct', sha])) * 1000;
}

/** A bundle cloned as it is (its HEAD is unset, hence `-b main`); `bare` for a repository with no work tree. */
export function cloneBundle(bundle: string, dir: string, bare = false): string {
  execFileSync('git', ['clone', '-q', ...(bare ? ['--bare'] : []), '-b', 'main', bundle, dir], { env: GIT_ENV });
  return dir;
}

export interface Replay {
  /** The bare repository standing for GitHub. */
  upstream: string;
  /** The collector's clone (`stateRepo`). */
  local: string;
  /** `main`'s first-parent commits, oldest first. */
  commits: string[];
  /** Index in `commits` of upstream `main` now. */
  position(): number;
  indexOf(sha: string): number;
  /** Moves upstream `main` forward to a commit (index or sha); returns its sha. */
  advance(to: number | string): string;
  /** Points upstream `main` at any commit, even one that does not descend from it (a force push). */
  forceUpstream(sha: string): void;
  /** A new upstream commit on top of `commits[index]` (same tree, another message): a diverging history. */
  divergingCommit(index: number): string;
}

/** Clones `bundle` into `<tmpDir>/upstream.git` with `main` at `start` (index or sha), and `<tmpDir>/local` from it. */
export function createReplay(bundle: string, tmpDir: string, start: number | string = 0): Replay {
  const upstream = cloneBundle(bundle, path.join(tmpDir, 'upstream.git'), true);
  const commits = gitSync(upstream, ['rev-list', '--first-parent', '--reverse', 'main']).split('\n');
  const indexOf = (sha: string): number => {
    const full = gitSync(upstream, ['rev-parse', '--verify', `${sha}^{commit}`]);
    const i = commits.indexOf(full);
    if (i < 0) throw new Error(`${sha} is not on main's first-parent line`);
    return i;
  };
  const resolve = (to: number | string): number => (typeof to === 'number' ? to : indexOf(to));
  let at = resolve(start);
  if (commits[at] === undefined) throw new Error(`no commit ${start} in ${bundle}`);
  gitSync(upstream, ['update-ref', 'refs/heads/main', commits[at]!]);
  const local = path.join(tmpDir, 'local');
  execFileSync('git', ['clone', '-q', upstream, local], { env: GIT_ENV });
  return {
    upstream,
    local,
    commits,
    position: () => at,
    indexOf,
    advance(to) {
      const next = resolve(to);
      if (commits[next] === undefined) throw new Error(`no commit ${to}: main has ${commits.length}`);
      if (next < at) throw new Error(`advance goes forward only (at ${at}, asked ${next}); use forceUpstream`);
      at = next;
      gitSync(upstream, ['update-ref', 'refs/heads/main', commits[at]!]);
      return commits[at]!;
    },
    forceUpstream(sha) {
      gitSync(upstream, ['update-ref', 'refs/heads/main', sha]);
      const i = commits.indexOf(sha);
      if (i >= 0) at = i;
    },
    divergingCommit(index) {
      const base = commits[index];
      if (base === undefined) throw new Error(`no commit ${index}`);
      return gitSync(upstream, ['commit-tree', `${base}^{tree}`, '-p', base, '-m', 'a diverging history (test)']);
    },
  };
}

/** A work-tree clone of `bundle` in which a test can commit: changes `file` with `edit` and commits it; returns the new sha. */
export function commitEdit(repo: string, file: string, edit: (text: string) => string, message = 'edit (test)'): string {
  const p = path.join(repo, file);
  fs.writeFileSync(p, edit(fs.readFileSync(p, 'utf8')));
  gitSync(repo, ['commit', '-q', '-a', '-m', message]);
  return gitSync(repo, ['rev-parse', 'HEAD']);
}
