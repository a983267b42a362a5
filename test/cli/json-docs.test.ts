/** docs/json.md against what each command prints with --json: every key listed is printed, every top-level key printed is listed. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const PM2 = path.resolve(__dirname, '../fixtures/pm2-samples/pm2-plain');
const MONKEY = path.resolve(__dirname, '../fixtures/ply/monkey.ply');
const DOC = fs.readFileSync(path.resolve(__dirname, '../../docs/json.md'), 'utf8');

/** command name -> the key paths its section lists. */
export function documentedKeys(doc: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of doc.split('\n')) {
    const heading = /^## `([a-z-]+)/.exec(line);
    if (heading) out.set(heading[1]!, (current = []));
    const row = /^\| `([^`]+)` \|/.exec(line);
    if (row && current) current.push(row[1]!);
  }
  return out;
}

/** Whether a key path is in the document: true, false, or null when a parent is null or an empty array (nothing to look into). */
export function hasPath(doc: unknown, keyPath: string): boolean | null {
  let v: unknown = doc;
  for (const part of keyPath.split(/\.|(?=\[\])/)) {
    if (v === null) return null;
    if (part === '[]') {
      if (!Array.isArray(v)) return false;
      if (v.length === 0) return null;
      v = v[0];
      continue;
    }
    const key = part.replace(/^\[\]\.?/, '');
    if (typeof v !== 'object' || Array.isArray(v) || !(key in (v as object))) return false;
    v = (v as Record<string, unknown>)[key];
  }
  return true;
}

let dir: string;
let env: NodeJS.ProcessEnv;

function json(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { cwd: dir, env, encoding: 'utf8' });
  expect(r.stdout).not.toBe('');
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-json-docs-'));
  env = { ...process.env, DC_LOG_LEVEL: 'warn', PM2_HOME: path.join(dir, 'pm2') };
  delete env.DC_CONFIG;
  const logs = ['miner-sn17-mainnet-out.log', 'miner-sn17-mainnet-error.log'].flatMap((f) => ['--miner-log', path.join(PM2, f)]);
  const workers = ['gen-worker-1-out.log', 'gen-worker-1-error.log'].flatMap((f) => ['--worker-log', path.join(PM2, f)]);
  const r = spawnSync(process.execPath, [CLI, 'ingest', ...logs, ...workers, '--data-dir', path.join(dir, 'data'), '--time-zone', 'UTC'], { cwd: dir, env, encoding: 'utf8' });
  expect(r.status).toBe(0);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const RUNS: [string, () => string[]][] = [
  ['status', () => ['status', '--data-dir', path.join(dir, 'data')]],
  ['doctor', () => ['doctor', '--data-dir', path.join(dir, 'data')]],
  ['analyze', () => ['analyze', '--summary', '--acceptance-rate', '--failures', '--clip-distribution', '--validator', '--duels', '--group-by', 'host', '--data-dir', path.join(dir, 'data')]],
  ['export', () => ['export', '--output', path.join(dir, 'out.jsonl'), '--data-dir', path.join(dir, 'data')]],
  ['import', () => ['import', path.join(dir, 'data'), '--data-dir', path.join(dir, 'other'), '--dry-run']],
  ['rotate', () => ['rotate', '--dry-run', '--prune-older-than', '1', '--data-dir', path.join(dir, 'data')]],
  ['storage', () => ['storage', '--data-dir', path.join(dir, 'data')]],
  ['inspect-ply', () => ['inspect-ply', MONKEY]],
];

test('docs/json.md has a section for each command that takes --json, and the parser reads it', () => {
  const keys = documentedKeys(DOC);
  expect([...keys.keys()].sort()).toEqual(RUNS.map(([c]) => c).sort());
  expect(keys.get('status')).toContain('files[].behind_bytes');
  expect(hasPath({ a: [{ b: 1 }] }, 'a[].b')).toBe(true);
  expect(hasPath({ a: [{ b: 1 }] }, 'a[].c')).toBe(false);
  expect(hasPath({ a: { b: null } }, 'a.b.c')).toBe(null);
});

test.each(RUNS)('%s --json: schema_version 1, and its keys as docs/json.md lists them', (command, args) => {
  const doc = json(args());
  const listed = documentedKeys(DOC).get(command)!;
  expect(doc.schema_version).toBe(1);
  // every top-level key printed is documented, and every documented top-level key is printed
  expect(Object.keys(doc).sort()).toEqual([...new Set(listed.map((k) => k.split(/\.|\[\]/)[0]!))].sort());
  // every documented key is there (below a null or an empty array there is nothing to look into)
  expect(listed.filter((k) => hasPath(doc, k) === false)).toEqual([]);
  // keys are snake_case, as in the records (data keys such as task types and host names aside)
  const camel: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, `${at}[]`));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (/^[a-z]+[A-Z]/.test(k)) camel.push(`${at}.${k}`);
        walk(x, `${at}.${k}`);
      }
  };
  walk(doc, '');
  expect(camel).toEqual([]);
}, 60_000);
