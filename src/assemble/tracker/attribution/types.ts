/**
 * Attribution: which open task each unnamed event belongs to. Pure: the open window in, every
 * assignment consistent with what the logs guarantee out, and per event the answer —
 * `determined` when every consistent assignment agrees, else `inferred` (the best time fit) with
 * the number of tasks it could be.
 *
 * What the logs guarantee (reference upstream-miner-logs.md, "Correlating a task"): each endpoint
 * runs one task at a time; a task has exactly one generation end, after its generating line and
 * before its feedback (or submit failure); a score above 0 means the generation completed; a
 * worker's lines and its output files belong to the task generating on its endpoint, and its
 * answer comes before the miner's end line and at most `maxAnswerLagMs` before it; the worker's
 * own duration fits inside the miner's generating-to-end interval.
 *
 * The search is a depth-first walk over the window's items in time order; the window holds only
 * what is still open (settled items are folded into their task's fixed facts by the caller), so it
 * stays small: a few tasks per endpoint.
 */

/** A binding namespace: `g` a worker group (config name), `u` an endpoint URL no group is known for. */
export type Binding = { ns: 'g' | 'u'; value: string };

/** Both namespaces, in the order the search asks them. */
export const NAMESPACES: readonly Binding['ns'][] = ['g', 'u'];

/** A binding as one string. */
export const endpointKey = (ns: Binding['ns'], value: string): string => `${ns}\u0000${value}`;

/** Bindings already split from their keys: a search asks for the same few endpoints' keys again and again. */
const bindingsOfKeys = new Map<string, Readonly<Binding>>();

/** An `endpointKey` back as its binding (shared: not to be changed). */
export function bindingOfKey(key: string): Readonly<Binding> {
  let b = bindingsOfKeys.get(key);
  if (!b) {
    const [ns, value] = key.split('\u0000') as [Binding['ns'], string];
    b = { ns, value };
    // a run has a few endpoints; URLs no group is known for are bounded by the logs, kept few all the same
    if (bindingsOfKeys.size >= 1024) bindingsOfKeys.clear();
    bindingsOfKeys.set(key, b);
  }
  return b;
}

export interface WindowTask {
  id: string;
  /** The generating line's time (the received line's when the generating line was lost). */
  startMs: number;
  /**
   * Its pull (its query line where known, else its received line): from here the miner's loop of its
   * endpoint is busy with it, until its feedback or submit failure (the next pull of that endpoint
   * comes after).
   */
  receivedMs: number;
  /**
   * When that loop was free again, where a line says so: its feedback, its submit failure (settled
   * for sure). Null otherwise (it waits; it had nothing to wait for, which upstream does not log; a
   * restart or a timeout of ours closed it).
   */
  loopFreeMs: number | null;
  /** Its generating line was seen (or is known lost): an end can be its. */
  canEnd: boolean;
  /** The task's prompt, for worker lines that say what they were asked. */
  taskType: 'TEXT-TO-3D' | 'IMAGE-TO-3D' | null;
  promptLength: number | null;
  /** Facts already settled: its end (time, completed), its endpoints, its answer. */
  fixedEnd: { timeMs: number; completed: boolean; late: boolean } | null;
  fixedBindings: Binding[];
  fixedAnswerMs: number | null;
  fixedDurationMs: number | null;
  /** The size of the output file already linked to it (one per generation: it takes no other). Optional: none. */
  fixedFileSize?: number | null;
  /**
   * Closed at this time (its feedback, a settled submit failure, a timeout, an interruption): nothing
   * later is its. A feedback line also says its end came before: that is a `close` item.
   */
  closedMs: number | null;
  /** Cut short at this time (a miner restart): its worker may still finish it, so its later worker lines are its. */
  abandonedMs: number | null;
  /** It had its feedback: no submit failure is its. */
  hadFeedback: boolean;
  /** A best fit gave it or took from it an event: its fixed end may be another's (optional: none). */
  guessed?: boolean;
  /** Excused from needing an end at its close (its end line was lost: nothing consistent had one; interrupted). */
  endLost: boolean;
  /** The validator scored it above 0: its generation completed. */
  mustComplete: boolean;
  /** The validator that gave it (uid, hotkey), where known: a submit failure naming another is not its. */
  validatorUid: number | null;
  validatorHotkey: string | null;
}

/**
 * A written task that ran on endpoint `key` (`endpointKey`): from its received line to `toMs` (its
 * feedback or submit failure, else its end) the miner's loop of that endpoint was busy with it, so no
 * open task there has a line in that span. `sure`: no best fit in its facts (a rule); else a guess,
 * which only makes an assignment that crosses it fit worse.
 */
export interface WrittenSpan {
  id: string;
  key: string;
  fromMs: number;
  toMs: number;
  sure: boolean;
}

/**
 * The miner's worker loops: it runs `loops` of them (one per endpoint: upstream starts one per
 * `Worker (url) started`), each busy with one task at a time from its received line to the line that
 * freed it, so no more than `loops` tasks are busy at once. `busy`: the tasks outside the search, each
 * surely busy from..to (its feedback, else its end where that is no guess, else its generating line).
 */
export interface LoopCount {
  loops: number;
  busy: { fromMs: number; toMs: number; id?: string }[];
  /** The run's endpoints (`endpointKey`), where known: every task ran on one of them (or on a loop beyond them). */
  endpoints?: string[];
}

/** How many of `spans` hold the instant `at` (a span holds its start at least). */
export function busyAt(spans: readonly { fromMs: number; toMs: number }[], at: number): number {
  let n = 0;
  for (const s of spans) if (s.fromMs <= at && at < Math.max(s.toMs, s.fromMs + 1)) n++;
  return n;
}

export type WindowItem =
  /** `late`: the miner gave up waiting (a timeout, a dropped connection): the worker may still be at it. */
  | { kind: 'end'; key: string; timeMs: number; completed: boolean; late: boolean; binding: Binding | null; bytes: number | null }
  /**
   * The validator the line names, by hotkey (and uid, where known; else the uids it may have, where
   * earlier failures naming it narrowed them): a task of another cannot take it.
   */
  | { kind: 'submit_failure'; key: string; timeMs: number; validatorHotkey: string | null; validatorUid: number | null; validatorUids?: number[] | null }
  /**
   * A worker request's lines of one group (one line, or the lines of one request joined), timed by
   * its first. `answerMs`: when the worker answered the request (its last line before the response;
   * null: not among these lines); `durationMs`: the worker's own measure of the request.
   */
  | {
      kind: 'worker';
      key: string;
      timeMs: number;
      group: string;
      answerMs: number | null;
      durationMs: number | null;
      /**
       * When the worker began this request by its own measure (the line's time less the time it says
       * the request, or a stage of it, took): never before the task's generating line.
       */
      startMs: number | null;
      promptKind: 'TEXT-TO-3D' | 'IMAGE-TO-3D' | null;
      promptChars: number | null;
    }
  /** A file in a worker group's output directory, timed by its mtime; one per generation. */
  | { kind: 'file'; key: string; timeMs: number; group: string; size: number; lateMs: number }
  /** A named closing line (feedback) of a task: the task's end came before it. */
  | { kind: 'close'; key: string; timeMs: number; taskId: string; mustComplete: boolean };

export interface AttributionLimits {
  /** Clock granularity and ordering slack between the miner's and the workers' lines. */
  slackMs: number;
  /** The miner logs a generation's end at most this long after its worker answered. */
  maxAnswerLagMs: number;
  /** An output file may carry a time this much before its generating line. */
  fileEarlyMs: number;
  /** Nodes one walk of the search may visit; a question left open by it counts as possible (so `inferred`). */
  maxNodes: number;
}

/** A task received this soon after a line that freed a loop (a submit failure, a feedback) was most likely pulled by that loop. */
const NEXT_PULL_MS = 100;

/** A task received at `receivedMs` was most likely the next pull of the loop a line at `freedMs` freed. */
export const pulledRightAfter = (freedMs: number, receivedMs: number): boolean => receivedMs >= freedMs && receivedMs <= freedMs + NEXT_PULL_MS;

/**
 * A walk the node budget cuts short keeps the best assignment it reached, which in a miner's restart
 * burst (four tasks pulled within milliseconds) can be a poor one: at 5,000 nodes nine captured runs at
 * 4 endpoints had 4 more ends, sizes and failures each on the wrong task than at 20,000; 40,000 changes nothing
 * more (bench/README.md, attribution).
 */
export const DEFAULT_LIMITS: AttributionLimits = { slackMs: 50, maxAnswerLagMs: 10_000, fileEarlyMs: 1000, maxNodes: 20_000 };

export interface ItemAnswer {
  /** The task of the best consistent assignment (null: no task can take it). */
  taskId: string | null;
  link: 'determined' | 'inferred';
  /**
   * Distinct tasks the item goes to in the consistent assignments the search reached: all of them
   * when it is 1 (every other task was ruled out), at least these when more.
   */
  candidates: number;
  /** Those tasks, best first. */
  candidateIds: string[];
}

export interface Attribution {
  /** Consistent assignments reached (0: the window contradicts itself; see `solve`'s caller). */
  leaves: number;
  /** Some question was left open by the node budget (its pair counted as possible). */
  truncated: boolean;
  items: Map<string, ItemAnswer>;
  /** Per task: whether it has ended in every assignment the search reached, and its latest end there (for timeouts). */
  ended: Map<string, { inAll: boolean; latestMs: number | null }>;
}

/** A task's end in a branch of the search. */
export interface Ends {
  timeMs: number;
  completed: boolean;
  late: boolean;
  bytes: number | null;
}

/** A worker's answer for a task: when, and its own measure of the request. */
export interface Answer {
  timeMs: number;
  durationMs: number | null;
}
