import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { main } from '../../src/cli/main';
import { runChecks } from '../../src/cli/doctor';
import { ManualClock } from '../../src/common/clock';
import { loadConfigFile } from '../../src/config/config';
import { defaultConfig } from '../../src/config';
import { openOutputs } from '../../src/pipeline/wiring';
import { BlobPolicy, measureStorage, planPrune, runPrune } from '../../src/sinks/space';
import type { Logger } from '../../src/common/logger';
import { gen, tmpDir } from './helpers/data';

// A failure is retried once with its errors logged: these tests time real file-system polling on a shared 2-core machine.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (_o: object, msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, info: rec('info'), warn: rec('warn'), error: rec('error'), debug: () => {} };
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);

describe('the free-space guard', () => {
  it('skips blobs below minFreeBytes (disk_low), warns once, and resumes when space returns', () => {
    let free = 10 * 1024 ** 3;
    const clock = new ManualClock();
    const logger = recordingLogger();
    const settings = { store_images: true, store_ply_files: true, minFreeBytes: 2 * 1024 ** 3, retention: { keepRejectedPly: false } };
    const policy = new BlobPolicy('/data', settings, { clock, logger, freeBytes: () => free, checkEveryMs: 1000 });
    expect(policy.image()).toBe('store');
    expect(policy.ply(true)).toBe('store');
    expect(policy.ply(false)).toBeNull(); // rejected PLYs are not kept by default
    free = 1024 ** 3;
    expect(policy.image()).toBe('store'); // checked again only after checkEveryMs
    clock.advance(1000);
    expect(policy.image()).toBe('disk_low');
    clock.advance(1000);
    expect(policy.ply(true)).toBe('disk_low');
    expect(logger.lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    free = 5 * 1024 ** 3;
    clock.advance(1000);
    expect(policy.image()).toBe('store');
    expect(logger.lines).toEqual([expect.stringMatching(/^warn disk space low/), expect.stringMatching(/^info disk space back/)]);
    policy.update({ ...settings, store_images: false, retention: { keepRejectedPly: true } });
    expect(policy.image()).toBe('disabled');
    expect(policy.ply(false)).toBe('store');
  });

  it('the image sink follows the config file while it runs (store_images, minFreeBytes)', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'data-collector.config.json');
    fs.writeFileSync(file, JSON.stringify({ dataDir: 'data', minFreeBytes: Number.MAX_SAFE_INTEGER }));
    const config = loadConfigFile(file);
    const logger = recordingLogger();
    const out = await openOutputs(config, logger);
    expect(out.storeImage(PNG, 'x')).toEqual({ skipped: 'disk_low' });
    fs.writeFileSync(file, JSON.stringify({ dataDir: 'data', minFreeBytes: 0, store_images: true }));
    const deadline = Date.now() + 10000;
    while (out.blobPolicy.current.minFreeBytes !== 0 && Date.now() < deadline) {
      out.checkConfig(); // what the daemon's loop does every second
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out.storeImage(PNG, 'x')).toMatchObject({ path: expect.stringMatching(/^images\/[0-9a-f]{64}\.png$/) });
    fs.writeFileSync(file, JSON.stringify({ dataDir: 'data', minFreeBytes: 0, store_images: false, extra: 1 })); // invalid: kept
    fs.writeFileSync(file, JSON.stringify({ dataDir: 'data', minFreeBytes: 0, store_images: false }));
    while (out.blobPolicy.current.store_images && Date.now() < deadline + 5000) {
      out.checkConfig();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out.storeImage(PNG, 'x')).toEqual({ skipped: 'disabled' });
  }, 30000);
});

describe('measuring and pruning', () => {
  const NOW = Date.UTC(2025, 10, 20, 12);
  const DAY = 86400000;

  function dataDir(): string {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'images'));
    fs.mkdirSync(path.join(dir, 'ply_files'));
    fs.mkdirSync(path.join(dir, 'archive'));
    const recent = gen(1, new Date(NOW - 2 * DAY).toISOString());
    recent.task.image_file_path = `images/${'a'.repeat(64)}.png`;
    const old = gen(2, new Date(NOW - 30 * DAY).toISOString());
    fs.writeFileSync(path.join(dir, 'generation_history.jsonl'), `${JSON.stringify(old)}\n${JSON.stringify(recent)}\n`);
    fs.writeFileSync(path.join(dir, 'archive', 'generation_history_2024-09.jsonl.gz'), zlib.gzipSync(`${JSON.stringify(gen(3, '2024-09-01T00:00:00.000Z'))}\n`));
    fs.writeFileSync(path.join(dir, 'archive', 'generation_history_2025-06.jsonl.gz'), zlib.gzipSync(`${JSON.stringify(gen(4, '2025-06-01T00:00:00.000Z'))}\n`));
    const blob = (rel: string, bytes: number, ageDays: number) => {
      fs.writeFileSync(path.join(dir, rel), Buffer.alloc(bytes));
      const t = new Date(NOW - ageDays * DAY);
      fs.utimesSync(path.join(dir, rel), t, t);
    };
    blob(`images/${'a'.repeat(64)}.png`, 1000, 400); // old but named by a recent record: kept
    blob(`images/${'b'.repeat(64)}.png`, 2000, 400);
    blob(`images/${'c'.repeat(64)}.png`, 3000, 1);
    blob(`ply_files/x_${'d'.repeat(64)}.ply`, 70000, 3);
    return dir;
  }

  it('bytes by kind, growth per day over 7 days, days until full', async () => {
    const dir = dataDir();
    const r = await measureStorage(dir, NOW);
    const jsonl = fs.statSync(path.join(dir, 'generation_history.jsonl')).size;
    const archives = ['2024-09', '2025-06'].reduce((n, m) => n + fs.statSync(path.join(dir, 'archive', `generation_history_${m}.jsonl.gz`)).size, 0);
    expect(r.bytes).toMatchObject({ jsonl, images: 6000, ply: 70000, archives });
    expect(r.windowDays).toBe(7);
    const recentLine = fs.readFileSync(path.join(dir, 'generation_history.jsonl'), 'utf8').split('\n')[1]!.length + 1;
    expect(r.perDay.jsonl).toBeCloseTo(recentLine / 7);
    expect(r.perDay.images).toBeCloseTo(3000 / 7);
    expect(r.perDay.ply).toBeCloseTo(70000 / 7);
    expect(r.daysUntilFull).toBeCloseTo(r.freeBytes! / r.perDay.total);
  });

  it('--prune-older-than lists old archives and unreferenced old blobs, and deletes only with --yes', async () => {
    const dir = dataDir();
    const items = await planPrune(dir, NOW, 12);
    expect(items.map((i) => path.relative(dir, i.file)).sort()).toEqual(['archive/generation_history_2024-09.jsonl.gz', `images/${'b'.repeat(64)}.png`]);
    let out = '';
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await main(['rotate', '--data-dir', dir, '--prune-older-than', '12', '--dry-run'])).toBe(0);
      expect(fs.existsSync(path.join(dir, 'images', `${'b'.repeat(64)}.png`))).toBe(true);
      expect(out).toMatch(/would delete image/);
    } finally {
      write.mockRestore();
    }
    runPrune(dir, items);
    expect(fs.existsSync(path.join(dir, 'images', `${'b'.repeat(64)}.png`))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'images', `${'a'.repeat(64)}.png`))).toBe(true);
  });

  it('`storage --json` and the doctor section', async () => {
    const dir = dataDir();
    let out = '';
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await main(['storage', '--data-dir', dir, '--json'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    const j = JSON.parse(out) as { bytes: { ply: number }; storing_blobs: boolean; min_free_bytes: number };
    expect(j.bytes.ply).toBe(70000);
    expect(j.min_free_bytes).toBe(defaultConfig().minFreeBytes);
    const config = { ...defaultConfig(), dataDir: dir, pm2Home: dir, miner: { pm2App: 'm', logs: [path.join(dir, 'm-out.log')] }, workers: [] };
    const low = (await runChecks({ ...config, minFreeBytes: Number.MAX_SAFE_INTEGER }, undefined)).find((c) => c.name === 'storage')!;
    expect(low).toMatchObject({ ok: false, detail: expect.stringMatching(/PLY 68\.4 KiB.*NOT storing images\/PLYs/) });
    expect((await runChecks(config, undefined)).find((c) => c.name === 'storage')).toMatchObject({ ok: true });
  });
});
