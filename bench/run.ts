/** `npm run bench`: every benchmark, each printing its baseline from the same run beside our figure. */
import { benchAppend } from './append';
import { benchPly } from './ply';
import { benchIngest } from './ingest';
import { benchAnalyze } from './analyze';
import { benchFollow } from './follow';
import { benchDaemon } from './daemon';
import { benchAttribution } from './attribution';
import { printRows } from './report';

async function main(): Promise<void> {
  printRows('Following log files (1 GB)', await benchFollow(1024));
  printRows('Append to the JSONL store (3 KB records)', await benchAppend(5000));
  printRows('PLY summary (35 MB TRELLIS-layout file)', await benchPly());
  printRows('Ingest of a 1 GB realistic miner log (60% image tasks)', await benchIngest(1024));
  printRows('Ingest of a 400 MB realistic log of 4 endpoints, with worker logs', await benchIngest(400, 4));
  printRows('Analyze --summary over 1,000,000 records, against jq', await benchAnalyze(1_000_000));
  // issue 17's measure: the spec's schema, 300,000 records (3 million: `node dist/bench/analyze.js --records 3000000 --spec`)
  printRows("Analyze --summary over 300,000 records in the spec's schema, against jq", await benchAnalyze(300_000, undefined, true));
  printRows('The daemon: latency, idle and loaded cost', await benchDaemon(1000));
  for (const t of await benchAttribution()) printRows(t.title, t.rows);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
