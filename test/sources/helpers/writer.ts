/**
 * A log writer like PM2: appends numbered lines (O_APPEND) at a high rate and re-opens its file on
 * SIGUSR2 (pm2 reloadLogs). Usage: node writer.js <file> <lines> <linesPerTick> [bigEvery]
 * Line n is `seq <n> <padding>`; every `bigEvery`-th line is ~200 KB (a base64 image prompt).
 * Prints `done` when all lines are written, then waits for SIGTERM.
 */
import * as fs from 'node:fs';

const [file, total, perTick, bigEvery] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4] ?? 50), Number(process.argv[5] ?? 0)];
let fd = fs.openSync(file, 'a');
let reopen = false;
process.on('SIGUSR2', () => (reopen = true));
process.on('SIGTERM', () => process.exit(0));

let n = 0;
function tick(): void {
  if (reopen) {
    reopen = false;
    fs.closeSync(fd);
    fd = fs.openSync(file, 'a');
  }
  const parts: string[] = [];
  for (let i = 0; i < perTick && n < total; i++, n++) {
    const pad = bigEvery > 0 && n % bigEvery === bigEvery - 1 ? 'B'.repeat(200_000) : 'x'.repeat(n % 97);
    parts.push(`seq ${n} ${pad}\n`);
  }
  fs.writeSync(fd, parts.join(''));
  if (n < total) setTimeout(tick, 2);
  else {
    process.stdout.write('done\n');
    setInterval(() => {}, 1000);
  }
}
tick();
