/**
 * A real competition round replayed now: the state repository's real commits (a bundle of
 * test/fixtures/competition/) pushed to a bare "upstream" one by one as the test goes, each with its
 * real tree and message but dated when it is pushed, so the round's stages open and close around a
 * generation service and driver running in real time. Commits before the replay's start keep their
 * own dates. The collector's clone (`local`) fetches from upstream like any clone of GitHub.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { cloneBundle, gitSync } from './state-repo-replay';

export interface RedatedReplay {
  upstream: string;
  local: string;
  /** The source history's first-parent commits, oldest first. */
  commits: string[];
  /** How many of `commits` upstream holds now. */
  pushed(): number;
  /** Index of the first commit whose subject matches. */
  find(subject: RegExp, from?: number): number;
  /** Pushes source commits up to and including `index`, dated now; returns upstream's new head. */
  pushTo(index: number): string;
  /** A file of a source commit, as written (for the test's own expectations). */
  show(index: number, file: string): string;
}

/**
 * `start`: source commits up to this one (an index, or the first whose subject matches) are upstream,
 * with their own dates, before the clone is made.
 */
export function redatedReplay(bundle: string, tmpDir: string, start: number | RegExp): RedatedReplay {
  const upstream = cloneBundle(bundle, path.join(tmpDir, 'upstream.git'), true);
  // the source history stays reachable under a ref a clone does not fetch
  gitSync(upstream, ['update-ref', 'refs/source/main', 'refs/heads/main']);
  const commits = gitSync(upstream, ['rev-list', '--first-parent', '--reverse', 'refs/source/main']).split('\n');
  const subjects = gitSync(upstream, ['log', '--first-parent', '--reverse', '--format=%s', 'refs/source/main']).split('\n');
  let count = 0;
  let head: string | null = null;
  const recommit = (i: number, dated: boolean): void => {
    const src = commits[i]!;
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    if (!dated) {
      // keep the source commit's own dates and identity
      const [an, ae, ad, cn, ce, cd] = gitSync(upstream, ['log', '-1', '--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd', '--date=raw', src]).split('\0');
      Object.assign(env, { GIT_AUTHOR_NAME: an, GIT_AUTHOR_EMAIL: ae, GIT_AUTHOR_DATE: ad, GIT_COMMITTER_NAME: cn, GIT_COMMITTER_EMAIL: ce, GIT_COMMITTER_DATE: cd });
    } else Object.assign(env, { GIT_AUTHOR_NAME: 'replay', GIT_AUTHOR_EMAIL: 'replay@example.invalid', GIT_COMMITTER_NAME: 'replay', GIT_COMMITTER_EMAIL: 'replay@example.invalid' });
    const message = gitSync(upstream, ['log', '-1', '--format=%B', src]);
    const args = ['-C', upstream, 'commit-tree', `${src}^{tree}`, ...(head ? ['-p', head] : []), '-m', message || '(no message)'];
    head = execFileSync('git', args, { env, encoding: 'utf8' }).trim();
  };
  const pushTo = (index: number): string => {
    if (index >= commits.length) throw new Error(`no commit ${index}: the source has ${commits.length}`);
    while (count <= index) recommit(count++, started);
    gitSync(upstream, ['update-ref', 'refs/heads/main', head!]);
    return head!;
  };
  const find = (subject: RegExp, from = 0): number => {
    const i = subjects.findIndex((s, k) => k >= from && subject.test(s));
    if (i < 0) throw new Error(`no commit from ${from} matches ${subject}`);
    return i;
  };
  let started = false;
  pushTo(typeof start === 'number' ? start : find(start));
  started = true;
  const local = path.join(tmpDir, 'local');
  execFileSync('git', ['clone', '-q', upstream, local], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return {
    upstream,
    local,
    commits,
    pushed: () => count,
    find,
    pushTo,
    show: (index, file) => gitSync(upstream, ['show', `${commits[index]}:${file}`]),
  };
}
