/**
 * scripts/start.sh (the README's first command) uses the operator's own pm2 when one is on PATH (the
 * daemon's version: no "pm2 update" prompt, which would restart the miner) and the project's only when
 * there is none. Fake pm2/npx commands on PATH record how they were called.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../scripts/start.sh');

function fakeBin(dir: string, name: string, log: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n`, { mode: 0o755 });
}

function run(withPm2: boolean): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-start-'));
  try {
    const log = path.join(dir, 'calls');
    fakeBin(dir, 'npx', log);
    if (withPm2) fakeBin(dir, 'pm2', log);
    // only the fakes and the shell's basics: no real pm2 or npx can be found
    const r = spawnSync('/bin/bash', [SCRIPT], { env: { PATH: `${dir}:/usr/bin:/bin`.split(':').filter((p) => p === dir || !fs.existsSync(path.join(p, 'pm2'))).join(':') }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return fs.readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("the operator's pm2 when it is on PATH", () => {
  expect(run(true)).toEqual(['pm2 start ecosystem.config.js', 'pm2 save']);
});

test("the project's pm2 through npx when there is none", () => {
  expect(run(false)).toEqual(['npx --no-install pm2 start ecosystem.config.js', 'npx --no-install pm2 save']);
});
