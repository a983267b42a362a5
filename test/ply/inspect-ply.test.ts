import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// main first: it loads the command list the way the binary does.
import { main } from '../../src/cli/main';
import { UsageError } from '../../src/cli/command';
import { CollectorError } from '../../src/common/errors';
import { summarizePly } from '../../src/ply';

const MONKEY = path.join(__dirname, '..', 'fixtures', 'ply', 'monkey.ply');

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), out };
  } finally {
    spy.mockRestore();
  }
}

describe('data-collector inspect-ply', () => {
  test('--json prints the same figures as summarizePly', async () => {
    const { code, out } = await run(['inspect-ply', MONKEY, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ schema_version: 1, file: MONKEY, ...(await summarizePly(MONKEY)) });
  });

  test('the table shows the record figures and one row per property', async () => {
    const { code, out } = await run(['inspect-ply', MONKEY]);
    expect(code).toBe(0);
    expect(out).toMatch(/^num_gaussians +36039$/m);
    expect(out).toMatch(/^file_size +2018545 bytes \(1\.925 MiB\)$/m);
    expect(out).toMatch(/^ply_file_hash +sha256:[0-9a-f]{64}$/m);
    expect(out).toMatch(/^near_transparent +18\.20 % \(sigmoid\(opacity\) < 0\.05\)$/m);
    expect(out).toMatch(/^opacity +-0\.299080 +2\.67583 +-5\.29309 +13\.8023 +0\.453794$/m);
    for (const row of ['scale_0', 'scale_2', 'f_dc_1', 'x', 'z']) expect(out).toMatch(new RegExp(`^${row} `, 'm'));
  });

  test('a bad file is a CollectorError (main exits 1 with its one line)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-ply-cli-'));
    const bad = path.join(dir, 'bad.ply');
    fs.writeFileSync(bad, 'ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n1\n');
    const err = await run(['inspect-ply', bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorError);
    expect((err as CollectorError).describe()).toBe(`bad PLY: truncated body: the file ends in Gaussian 2 of 2 (${bad})`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('usage errors (exit 2): unknown flag, no file, two files', async () => {
    await expect(run(['inspect-ply', MONKEY, '--jsn'])).rejects.toThrow(UsageError);
    await expect(run(['inspect-ply'])).rejects.toThrow(/expected exactly one FILE/);
    await expect(run(['inspect-ply', MONKEY, MONKEY])).rejects.toThrow(UsageError);
  });

  test('listed in --help and has its own help', async () => {
    expect((await run(['--help'])).out).toMatch(/inspect-ply +print the Gaussian statistics/);
    expect((await run(['inspect-ply', '--help'])).out).toMatch(/^Usage: data-collector inspect-ply FILE \[--json\]/);
  });
});
