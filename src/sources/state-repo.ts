/**
 * The competition state repository (competition.md) through the git CLI: read the facts for one
 * hotkey at one commit, fast-forward the local clone, tell whether a directory is a clone.
 *
 * Reading takes three git processes whatever the history's length: `git log` (the first-parent
 * history with each commit's changed paths and blobs), `git ls-tree` (the paths at the commit), and
 * one `git cat-file --batch` for every blob needed (the files at the commit, and every version of
 * `state.json` and of the audit files). What the texts mean is parse/competition-state.ts's (pure).
 *
 * Times are committer times of first-parent commits (a branch merged in counts from its merge: when
 * it reached the validators' main). A path's `seenMs` is the commit that last added it: a path
 * deleted and added again (competition 0 re-created round 0's files eight times in its tests before
 * the launch) began its current life at its last addition. In a shallow clone, a file older than
 * the shallow boundary looks added at the boundary commit.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import {
  buildCompetitionFacts,
  isHistoryFile,
  neededFiles,
  type CompetitionFacts,
  type FileVersion,
} from '../parse/competition-state';

export type StateRepoErrorKind = 'git' | 'no_upstream' | 'fetch' | 'diverged' | 'merge';

/** A git failure, with git's own stderr in the message and what the operator should do. */
export class StateRepoError extends Error {
  constructor(
    readonly kind: StateRepoErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'StateRepoError';
  }
}

/** A network fetch that hangs (a dead TCP peer) must not hold the daemon forever. */
const FETCH_TIMEOUT_MS = 120_000;

/**
 * The user's git config must not change what the log prints (colour, signatures, a hidden root
 * commit, rename pairs instead of additions).
 */
const READ_CONFIG = ['-c', 'color.ui=false', '-c', 'log.showSignature=false', '-c', 'log.showRoot=true', '-c', 'diff.renames=false'];

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Never ask anyone for anything: a daemon has no terminal.
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
  };
  // These would override `-C dir` (a collector started from a git hook, say).
  delete env.GIT_DIR;
  delete env.GIT_WORK_TREE;
  delete env.GIT_INDEX_FILE;
  return env;
}

interface GitRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

function runGit(dir: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, ...READ_CONFIG, ...args], {
      env: gitEnv(),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new StateRepoError('git', `could not run git (${e.message}): install git and put it on the PATH`)));
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8').trim() }),
    );
    if (options.input !== undefined && child.stdin) {
      // A git that died early closes its stdin: the exit code tells the story, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

function failure(dir: string, args: string[], run: GitRun): string {
  const what = run.signal ? `killed by ${run.signal}${run.signal === 'SIGTERM' ? ' (timed out)' : ''}` : `exit ${run.code}`;
  return `git ${args[0]} failed in ${dir} (${what})${run.stderr ? `: ${run.stderr}` : ''}`;
}

async function git(dir: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<Buffer> {
  const run = await runGit(dir, args, options);
  if (run.code !== 0) throw new StateRepoError('git', failure(dir, args, run));
  return run.stdout;
}

async function gitText(dir: string, args: string[]): Promise<string> {
  return (await git(dir, args)).toString('utf8').trim();
}

interface Commit {
  sha: string;
  timeMs: number;
  changes: { status: string; blob: string; path: string }[];
}

/** `git log --raw -z` output -> commits, newest first as git prints them. */
function parseLog(buf: Buffer): Commit[] {
  const commits: Commit[] = [];
  for (const chunk of buf.toString('utf8').split('\x01')) {
    const tokens = chunk.split('\0').map((t) => t.replace(/^\n+/, ''));
    const header = tokens[0];
    if (!header) continue;
    const [sha, seconds] = header.split(' ');
    const commit: Commit = { sha: sha!, timeMs: Number(seconds) * 1000, changes: [] };
    for (let i = 1; i < tokens.length; i++) {
      const meta = tokens[i]!;
      if (!meta.startsWith(':')) continue;
      const fields = meta.split(' ');
      const path = tokens[++i];
      if (path === undefined) break;
      commit.changes.push({ status: (fields[4] ?? '').charAt(0), blob: fields[3] ?? '', path });
    }
    commits.push(commit);
  }
  return commits;
}

/** `git ls-tree -r -z` output -> path -> blob (submodules and other non-blobs left out). */
function parseTree(buf: Buffer): Map<string, string> {
  const blobs = new Map<string, string>();
  for (const entry of buf.toString('utf8').split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const [, type, sha] = entry.slice(0, tab).split(' ');
    if (type === 'blob' && sha) blobs.set(entry.slice(tab + 1), sha);
  }
  return blobs;
}

/** Every blob's text through one `git cat-file --batch`. */
async function readBlobs(dir: string, shas: Iterable<string>): Promise<Map<string, string>> {
  const unique = [...new Set(shas)];
  const texts = new Map<string, string>();
  if (unique.length === 0) return texts;
  const out = await git(dir, ['cat-file', '--batch'], { input: unique.join('\n') + '\n' });
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(10, pos);
    if (nl < 0) break;
    const [sha, type, size] = out.toString('latin1', pos, nl).split(' ');
    pos = nl + 1;
    if (type === 'missing' || size === undefined) continue;
    const end = pos + Number(size);
    texts.set(sha!, out.toString('utf8', pos, end));
    pos = end + 1;
  }
  return texts;
}

/**
 * The facts for `hotkey` at `commit` (default HEAD) of the repository in `repoDir` (a clone or a
 * bare repository). Throws StateRepoError when git cannot read it; a file of an unknown shape is a
 * `notUnderstood` entry, never a throw.
 */
export async function readCompetitionFacts(repoDir: string, hotkey: string, commit = 'HEAD'): Promise<CompetitionFacts> {
  if (commit.startsWith('-')) throw new StateRepoError('git', `not a commit: ${commit}`);
  const log = parseLog(
    await git(repoDir, ['log', '--first-parent', '--no-renames', '--raw', '--no-abbrev', '-z', '--format=%x01%H %ct', commit, '--']),
  );
  const head = log[0];
  if (!head) throw new StateRepoError('git', `no commit at ${commit} in ${repoDir}`);
  const tree = parseTree(await git(repoDir, ['ls-tree', '-r', '-z', '--full-tree', head.sha]));

  const addedMs = new Map<string, number>();
  const writtenMs = new Map<string, number>();
  const versions = new Map<string, { order: number; timeMs: number; blob: string | null }[]>();
  const oldestFirst = log.reverse();
  oldestFirst.forEach((c, order) => {
    for (const ch of c.changes) {
      if (ch.status === 'A') addedMs.set(ch.path, c.timeMs);
      if (ch.status !== 'D') writtenMs.set(ch.path, c.timeMs);
      if (!isHistoryFile(ch.path)) continue;
      const list = versions.get(ch.path) ?? [];
      list.push({ order, timeMs: c.timeMs, blob: ch.status === 'D' ? null : ch.blob });
      versions.set(ch.path, list);
    }
  });

  const paths = [...tree.keys()];
  const wanted = neededFiles(paths, hotkey);
  const blobTexts = await readBlobs(repoDir, [
    ...wanted.map((p) => tree.get(p)!),
    ...[...versions.values()].flatMap((list) => list.flatMap((v) => (v.blob ? [v.blob] : []))),
  ]);

  const texts = new Map<string, string>();
  for (const p of wanted) {
    const text = blobTexts.get(tree.get(p)!);
    if (text !== undefined) texts.set(p, text);
  }
  const seenMs = new Map<string, number>();
  const updatedMs = new Map<string, number>();
  for (const p of paths) {
    const t = addedMs.get(p);
    if (t !== undefined) seenMs.set(p, t);
    const w = writtenMs.get(p);
    if (w !== undefined) updatedMs.set(p, w);
  }
  const history = new Map<string, FileVersion[]>();
  for (const [p, list] of versions) {
    history.set(
      p,
      list.map((v) => ({ order: v.order, timeMs: v.timeMs, text: v.blob === null ? null : (blobTexts.get(v.blob) ?? null) })),
    );
  }
  return buildCompetitionFacts({ commit: head.sha, commitMs: head.timeMs, hotkey, paths, texts, seenMs, updatedMs, history });
}

/** The commit the clone's HEAD is at. Throws StateRepoError (git's stderr) when git cannot read it. */
export function stateRepoHead(repoDir: string): Promise<string> {
  return gitText(repoDir, ['rev-parse', '--verify', 'HEAD']);
}

/** 0: `a` is an ancestor of `b` (or equal); 1: it is not; anything else is an error. */
async function isAncestor(dir: string, a: string, b: string): Promise<boolean> {
  const args = ['merge-base', '--is-ancestor', a, b];
  const run = await runGit(dir, args);
  if (run.code === 0) return true;
  if (run.code === 1) return false;
  throw new StateRepoError('git', failure(dir, args, run));
}

/**
 * Fetches the clone's upstream and fast-forwards the checked-out branch to it; nothing else is ever
 * rewritten. Throws StateRepoError (message: git's stderr and what to do) when the fetch fails, the
 * branch has no upstream, or the upstream's history no longer contains the local HEAD. A local branch
 * ahead of its upstream (commits made by hand) is left as it is.
 */
export async function refreshStateRepo(repoDir: string): Promise<{ before: string; after: string; changed: boolean }> {
  const before = await stateRepoHead(repoDir);
  let upstream: string;
  try {
    upstream = await gitText(repoDir, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}']);
  } catch (err) {
    throw new StateRepoError(
      'no_upstream',
      `${(err as Error).message}. The state repository in ${repoDir} must be a clone with its branch tracking the ` +
        `validators' (e.g. git clone https://github.com/404-Repo/404-active-competition ${repoDir}).`,
    );
  }
  const fetchArgs = ['fetch', '--quiet'];
  const fetched = await runGit(repoDir, fetchArgs, { timeoutMs: FETCH_TIMEOUT_MS });
  if (fetched.code !== 0) {
    throw new StateRepoError(
      'fetch',
      `${failure(repoDir, fetchArgs, fetched)}. Check the network and the remote (git -C ${repoDir} remote -v); ` +
        'the local copy is unchanged and the next refresh tries again.',
    );
  }
  const target = await gitText(repoDir, ['rev-parse', '--verify', '@{upstream}^{commit}']);
  if (target === before) return { before, after: before, changed: false };
  if (!(await isAncestor(repoDir, before, target))) {
    if (await isAncestor(repoDir, target, before)) return { before, after: before, changed: false };
    throw new StateRepoError(
      'diverged',
      `cannot fast-forward ${repoDir}: ${upstream} (${target.slice(0, 12)}) does not contain the local HEAD ` +
        `(${before.slice(0, 12)}); its history was rewritten upstream. The collector never rewrites the clone: ` +
        `check the upstream, then re-clone it or run git -C ${repoDir} reset --hard ${upstream} yourself.`,
    );
  }
  const mergeArgs = ['merge', '--ff-only', '--quiet', target];
  const merged = await runGit(repoDir, mergeArgs);
  if (merged.code !== 0) {
    throw new StateRepoError(
      'merge',
      `${failure(repoDir, mergeArgs, merged)}. Local changes in the clone are in the way: ` +
        `look at git -C ${repoDir} status and put them aside; the collector only reads the clone.`,
    );
  }
  const after = await stateRepoHead(repoDir);
  return { before, after, changed: after !== before };
}

/** Whether `dir` is the top of a git work tree with a remote: what refreshStateRepo needs. */
export async function isGitClone(dir: string): Promise<boolean> {
  try {
    const top = await gitText(dir, ['rev-parse', '--show-toplevel']);
    if (!top || fs.realpathSync(top) !== fs.realpathSync(dir)) return false;
    return (await gitText(dir, ['remote'])) !== '';
  } catch {
    return false;
  }
}
