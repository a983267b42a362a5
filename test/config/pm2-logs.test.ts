/** Finding each app's log files without a PM2 daemon: PM2's naming convention, instances included. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPm2Apps, conventionalLogs, defaultConfig, findAppLogs, pm2DaemonRunning } from '../../src/config';
import { pm2FileName } from '../../src/config/config';
import { configuredStreams } from '../../src/pipeline/inputs';

function home(): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-pm2home-'));
  fs.mkdirSync(path.join(h, 'logs'));
  return h;
}

describe('PM2 log files by convention', () => {
  it('no daemon (no pid file, or a dead pid): never asked, files by name', async () => {
    const h = home();
    expect(pm2DaemonRunning(h)).toBe(false);
    fs.writeFileSync(path.join(h, 'pm2.pid'), '999999999');
    expect(pm2DaemonRunning(h)).toBe(false);
    fs.writeFileSync(path.join(h, 'logs', 'miner-sn17-mainnet-out.log'), '');
    const [miner, worker] = await findAppLogs(h, ['miner-sn17-mainnet', 'gen-worker-1']);
    expect(miner).toMatchObject({
      foundBy: 'convention',
      known: true,
      out: [path.join(h, 'logs', 'miner-sn17-mainnet-out.log')],
      error: [path.join(h, 'logs', 'miner-sn17-mainnet-error.log')],
    });
    // a file that does not exist yet is waited for, not an error
    expect(worker).toMatchObject({ foundBy: 'convention', known: false, out: [path.join(h, 'logs', 'gen-worker-1-out.log')] });
  });

  it('no daemon: checkPm2Apps says unreachable (never throws), and discovery says so naming the PM2_HOME', async () => {
    const h = home();
    fs.writeFileSync(path.join(h, 'pm2.pid'), '999999999');
    const config = { ...defaultConfig(), pm2Home: h };
    expect(await checkPm2Apps(config)).toEqual({ reachable: false, pm2Home: h, apps: [], missing: [], stopped: [] });
    expect(await checkPm2Apps(['x'], path.join(h, 'no', 'such', 'home'))).toMatchObject({ reachable: false });
    const said: string[] = [];
    const rec = (_: object, msg: string) => void said.push(msg);
    await configuredStreams(config, { info: rec, warn: rec, error: rec, debug: rec });
    expect(said.join('\n')).toContain(`PM2 daemon not reachable (PM2_HOME ${h}`);
    expect(said.join('\n')).not.toMatch(/has no app|runs no app/);
  });

  it('several instances without merged logs: <app>-out-<n>.log each', () => {
    const h = home();
    for (const n of [0, 1]) fs.writeFileSync(path.join(h, 'logs', `gen-worker-1-out-${n}.log`), '');
    expect(conventionalLogs(h, 'gen-worker-1').out).toEqual([0, 1].map((n) => path.join(h, 'logs', `gen-worker-1-out-${n}.log`)));
  });

  it('app and stream from PM2 and pm2-logrotate file names', () => {
    expect(pm2FileName('/x/miner-sn17-mainnet-out.log')).toEqual({ app: 'miner-sn17-mainnet', stream: 'out' });
    expect(pm2FileName('/x/gen-worker-1-error-3.log')).toEqual({ app: 'gen-worker-1', stream: 'error' });
    expect(pm2FileName('/x/miner-sn17-mainnet-out__2025-11-12_21-30-00.log.gz')).toEqual({ app: 'miner-sn17-mainnet', stream: 'out' });
    expect(pm2FileName('/x/notes.txt')).toBeNull();
  });
});
