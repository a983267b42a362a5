/** `npm run bench`: every benchmark, each printing its baseline from the same run beside our figure. */
import { benchAppend } from './append';
import { benchPly } from './ply';
import { printRows } from './report';

async function main(): Promise<void> {
  printRows('Append to the JSONL store (3 KB records)', await benchAppend(5000));
  printRows('PLY summary (35 MB TRELLIS-layout file)', await benchPly());
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
