/**
 * `pm2 start ecosystem.config.js` starts the collector in the PM2 daemon that already runs the miner
 * (same PM2_HOME). It runs the built JavaScript (npm run build), never a TypeScript runtime.
 * Its own log lines carry their time, so no log_date_format is needed (and none should be set on
 * the miner's app either: PM2 then cuts long lines, see README "Troubleshooting").
 */
module.exports = {
  apps: [
    {
      name: 'data-collector',
      script: 'dist/src/cli/main.js',
      args: 'run',
      cwd: __dirname,
      interpreter: 'node',
      // A small young generation: idle RSS after activity 66-72 MB instead of 96-100 MB, for about one
      // point more CPU at 10 image tasks/s (bench/README.md, "The daemon"). With one to four endpoints,
      // adding '--no-opt --no-sparkplug' (V8's interpreter only) takes idle RSS to about 58 MB at little
      // cost; with eight, attributing takes five times as long and its slowest solves 0.5 s instead of
      // 0.06 s (a feedback line waits behind one), so it is not the default.
      node_args: '--max-semi-space-size=2',
      // A graceful stop writes what is finished and commits its checkpoints: give it time.
      kill_timeout: 15000,
      // The collector holds little (open tasks, one read buffer per file): far above that is a leak.
      max_memory_restart: '512M',
      // A crash loop (e.g. an unwritable data dir) backs off instead of spinning.
      exp_backoff_restart_delay: 500,
      autorestart: true,
      env: {
        NODE_ENV: 'production',
        // glibc serves a large allocation (a 500 KB image prompt's copy) from the heap once a freed one
        // raised its threshold, and keeps that memory: fixed at 128 KB, each goes back to the system
        // when freed. Idle RSS after activity 76-81 -> 67 MB (bench/README.md, "The daemon").
        MALLOC_MMAP_THRESHOLD_: '131072',
      },
    },
  ],
};
