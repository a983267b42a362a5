/**
 * V8 set for a command that streams through far more than it keeps: its heap sized, its optimising
 * compiler kept for what runs most.
 *
 * Most of what `ingest` allocates dies young (a read's lines, a prompt's copies). Under that load V8
 * grows the young generation up to 16 MB semi-spaces, and the peak RSS grew with the input (165-171
 * MB at 2 GB); kept at its first size (1 MB) it stays at 140-143 MB at the same speed (bench/README.md,
 * the ingest bench). V8 reads the flag when the young generation would grow, so setting it at run
 * time works, but loading the modules already grows it: this module is imported first.
 *
 * What the small young generation promotes then dies in the old one, which V8 lets grow to four times
 * what was live after its last full collection before the next: at 4 endpoints and 4 GB the peak was
 * 172-183 MB with 20-35 MB live. Grown by at most twice what was live, 126-129 MB at the same speed
 * (`--optimize-for-size` bounds it too, 108 MB, but slows ingest by a tenth). Since the prompt thread
 * (its isolate, 11 MB more) the peak was 146-149 MB, too near issue 17's 150: by at most 1.7 times,
 * 140-142 MB for 3-5 % more time (1.5 times: 137-138 MB, 10 % more). V8 reads this flag each time it sets
 * the next limit.
 *
 * TurboFan later: V8 optimises a function once it has run 8 times as long as by default
 * (`--interrupt-budget`, 67,584 bytecodes' worth a tick, three ticks). `ingest`'s attribution is many
 * small functions called a few thousand times a run, with objects of many shapes: optimised, each
 * compile took 20-90 ms on the compiler's thread, again after each deoptimisation (2.1 s of compiling
 * in a 2 s ingest at 4 endpoints and 0.4 GB, beside the prompt thread on 2 cores), for code that ran
 * little more; the loops over every line run long enough to be optimised all the same (4 GB, where
 * they are all the time, is no slower). `ingest` at 4 endpoints and 0.4 GB: 2.02-2.19 -> 1.55-1.63 s
 * (user 2.82-3.05 -> 2.05-2.29 s); at 1 endpoint 1.26-1.33 -> 1.20-1.28 s; `analyze` no slower
 * (bench/README.md, session 23). Not inlining instead (`--no-turbo-inlining`) gained less and adds
 * nothing to this.
 */
import * as v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

const FLAGS = '--semi-space-growth-factor=1 --heap-growing-percent=70 --interrupt-budget=540000';
let set = false;

/** Sets V8 for streaming: first thing, since loading the modules already grows the young generation. */
export function setStreamingFlags(): void {
  set = true;
  v8.setFlagsFromString(FLAGS);
}

/**
 * A worker thread, once it runs, has set V8's flags back to the command line's (measured: the main
 * thread's young generation then grew to 16 MB semi-spaces, 30 MB more at the peak): they are set
 * again then. Returns the worker.
 */
export function keepStreamingFlags(w: Worker): Worker {
  if (set) w.once('online', () => v8.setFlagsFromString(FLAGS));
  return w;
}
