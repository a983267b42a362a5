import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawn, type ChildProcess } from 'node:child_process';
import { JsonlStore } from '../../src/sinks/jsonl-store';
import { CollectorError } from '../../src/common/errors';
import { testRecord, testStoreOptions, type TestRecord } from './helpers/test-records';

const WORKER = path.resolve(__dirname, '../../dist/test/sinks/helpers/append-worker.js');

/** Temp dirs made by this file: removed after each test (a store here is hundreds of MB). */
const dirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-store-'));
  dirs.push(dir);
  return dir;
}

function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

function ids(file: string): string[] {
  return readLines(file).map((l) => (JSON.parse(l) as TestRecord).id);
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function startWorker(args: string[]): { child: ChildProcess; acked: () => number; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let acked = 0;
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl;
    while ((nl = out.indexOf('\n')) !== -1) {
      const m = /^acked (\d+)$/.exec(out.slice(0, nl));
      if (m) acked = Number(m[1]);
      out = out.slice(nl + 1);
    }
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code) process.stderr.write(err);
      resolve(code);
    }),
  );
  return { child, acked: () => acked, exited };
}

describe('JsonlStore', () => {
  it('appends whole lines and drops records already stored, across instances', async () => {
    const dir = tmpDir();
    const store = await JsonlStore.open(testStoreOptions(dir));
    const r1 = await store.append([testRecord('a'), testRecord('b'), testRecord('a')]);
    expect(r1).toMatchObject({ written: 2, duplicates: 1 });
    const again = await JsonlStore.open(testStoreOptions(dir));
    const r2 = await again.append([testRecord('b'), testRecord('c'), testRecord('b', 3000, 1)]);
    expect(r2).toMatchObject({ written: 2, duplicates: 1 });
    expect(ids(store.file)).toEqual(['a', 'b', 'c', 'b']);
    // the first instance learns what the second wrote, under the lock
    expect(await store.append([testRecord('c')])).toMatchObject({ written: 0, duplicates: 1 });
  });

  it('finds records appended behind the index cache (a kill between append and cache update)', async () => {
    const dir = tmpDir();
    const store = await JsonlStore.open(testStoreOptions(dir));
    await store.append([testRecord('a')]);
    fs.appendFileSync(store.file, `${JSON.stringify(testRecord('ghost'))}\n`);
    const fresh = await JsonlStore.open(testStoreOptions(dir));
    expect(await fresh.append([testRecord('ghost'), testRecord('a'), testRecord('new')])).toMatchObject({
      written: 1,
      duplicates: 2,
    });
    expect(ids(store.file)).toEqual(['a', 'ghost', 'new']);
  });

  it('does not rewrite a record that lives in a monthly, gzip or archived file', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'archive'));
    fs.writeFileSync(path.join(dir, 'generation_history_2025-09.jsonl'), `${JSON.stringify(testRecord('sep'))}\n`);
    fs.writeFileSync(
      path.join(dir, 'generation_history_2025-08.jsonl.gz'),
      zlib.gzipSync(`${JSON.stringify(testRecord('aug'))}\n`),
    );
    fs.writeFileSync(
      path.join(dir, 'archive', 'generation_history_2025-01.jsonl.gz'),
      zlib.gzipSync(`${JSON.stringify(testRecord('jan'))}\n`),
    );
    const store = await JsonlStore.open(testStoreOptions(dir));
    const r = await store.append([testRecord('sep'), testRecord('aug'), testRecord('jan'), testRecord('nov')]);
    expect(r).toMatchObject({ written: 1, duplicates: 3 });
    // a second start uses the cache files and still knows them
    const again = await JsonlStore.open(testStoreOptions(dir));
    expect(again.has('aug#0') && again.has('jan#0') && again.has('sep#0') && again.has('nov#0')).toBe(true);
  });

  it('moves a torn tail aside before appending, and keeps every whole line', async () => {
    const dir = tmpDir();
    const store = await JsonlStore.open(testStoreOptions(dir));
    await store.append([testRecord('a')]);
    const fragment = JSON.stringify(testRecord('torn')).slice(0, 1234);
    fs.appendFileSync(store.file, fragment);
    const r = await store.append([testRecord('b')]);
    expect(r.tornTailsMovedTo).toHaveLength(1);
    expect(path.relative(dir, r.tornTailsMovedTo[0]!)).toMatch(/^set-aside\/generation-history\.torn-tail-\d{8}T\d{9}Z\.txt$/);
    expect(fs.readFileSync(r.tornTailsMovedTo[0]!, 'utf8')).toBe(fragment);
    expect(ids(store.file)).toEqual(['a', 'b']);
  });

  it('leaves no partial line when the disk refuses the write (file size limit)', async () => {
    const dir = tmpDir();
    // a writer under `ulimit -f 64` (64 KiB): its batches fail with EFBIG part-way
    const script = `
      const { JsonlStore } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/src/sinks/jsonl-store.js'))});
      const { testRecord, testStoreOptions } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/test/sinks/helpers/test-records.js'))});
      // as the CLI does: a write past the limit must fail with EFBIG, not kill the process
      process.on('SIGXFSZ', () => {});
      (async () => {
        const store = await JsonlStore.open(testStoreOptions(${JSON.stringify(dir)}));
        let acked = 0;
        for (let n = 0; n < 40; n += 7) {
          const batch = [];
          for (let i = n; i < n + 7; i++) batch.push(testRecord('r' + i));
          try { await store.append(batch); acked = n + 7; }
          catch (e) { console.log(JSON.stringify({ code: e.code, acked })); return; }
        }
        console.log(JSON.stringify({ code: null, acked }));
      })();`;
    const child = spawn('bash', ['-c', `ulimit -f 64; exec "${process.execPath}" -e "$0"`, script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    const res = JSON.parse(out.trim()) as { code: string; acked: number };
    expect(res.code).toBe('EFBIG');
    const file = path.join(dir, 'generation_history.jsonl');
    const got = ids(file); // every line whole and valid
    expect(got).toEqual(Array.from({ length: res.acked }, (_, i) => `r${i}`));
    // with room again, the same batch goes through completely
    const store = await JsonlStore.open(testStoreOptions(dir));
    const batch = Array.from({ length: 7 }, (_, i) => testRecord(`r${res.acked + i}`));
    expect(await store.append(batch)).toMatchObject({ written: 7, duplicates: 0 });
  });

  it('surfaces an unwritable data dir as a typed error naming the path', async () => {
    const dir = tmpDir();
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, 'x');
    await expect(JsonlStore.open(testStoreOptions(path.join(blocker, 'data')))).rejects.toMatchObject({
      code: 'NOT_A_DIRECTORY',
    });
    await expect(JsonlStore.open(testStoreOptions(path.join(blocker, 'data')))).rejects.toBeInstanceOf(CollectorError);
  });

  it('two processes appending 10,000 records each give 20,000 whole lines, none interleaved', async () => {
    const dir = tmpDir();
    const a = startWorker([dir, 'a', '10000', '37']);
    const b = startWorker([dir, 'b', '10000', '1']);
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    const got = ids(path.join(dir, 'generation_history.jsonl'));
    expect(got).toHaveLength(20000);
    expect(new Set(got).size).toBe(20000);
    // each writer's records stay in its own order
    const order = (p: string) => got.filter((id) => id.startsWith(`${p}-`)).map((id) => Number(id.slice(2)));
    expect(order('a')).toEqual(Array.from({ length: 10000 }, (_, i) => i));
    expect(order('b')).toEqual(Array.from({ length: 10000 }, (_, i) => i));
  }, 300000);

  it('a writer SIGKILLed 20 times in a tight loop beside a steady writer: no torn line, no duplicate, nothing acked lost', async () => {
    const dir = tmpDir();
    const steady = startWorker([dir, 'b', '1000000', '3']);
    let maxAcked = 0;
    for (let round = 0; round < 20; round++) {
      const victim = startWorker([dir, 'a', '1000000', '25']);
      // let it get past its earlier records and write new ones, then kill it mid-flight
      const deadline = Date.now() + 20000;
      while (victim.acked() <= maxAcked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
      victim.child.kill('SIGKILL');
      await victim.exited;
      maxAcked = Math.max(maxAcked, victim.acked());
    }
    const steadyAcked = steady.acked();
    steady.child.kill('SIGKILL');
    await steady.exited;
    const file = path.join(dir, 'generation_history.jsonl');
    // a last writer repairs any torn tail the kills left, as every writer does on taking the lock
    const store = await JsonlStore.open(testStoreOptions(dir));
    await store.append([testRecord('final')]);
    const got = ids(file);
    expect(new Set(got).size).toBe(got.length);
    const present = new Set(got);
    for (let i = 0; i < maxAcked; i++) expect(present.has(`a-${i}`)).toBe(true);
    for (let i = 0; i < steadyAcked; i++) expect(present.has(`b-${i}`)).toBe(true);
    expect(maxAcked).toBeGreaterThan(20);
    const setAside = path.join(dir, 'set-aside');
    for (const f of fs.existsSync(setAside) ? fs.readdirSync(setAside) : []) {
      const fragment = fs.readFileSync(path.join(setAside, f));
      expect(fragment.length).toBeGreaterThan(0);
      expect(fragment.includes(10)).toBe(false); // only the part after the last whole line
    }
  }, 600000);
});
