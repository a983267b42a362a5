/**
 * Competition mode's verdict source: the local clone of the competition's state repository. Every
 * `fetchMinutes` it is fetched and fast-forwarded (the git CLI), and whenever its head moved — by
 * this fetch or by the operator's own `git pull` — the facts are read again at the new head and
 * handed to the tracker, which writes a revision of each generation they say more about. Git runs
 * beside the loop, never inside it: a slow fetch delays a verdict, never a record. A failure is a
 * warning (held while it lasts), never a stop.
 */
import type { CompetitionConfig } from '../config/config';
import type { CompetitionFacts } from '../parse/competition-state';
import { readCompetitionFacts, refreshStateRepo, stateRepoHead } from '../sources/state-repo';
import type { Logger } from '../common/logger';
import type { Warnings } from './health';

/** The head is looked at this often even when nothing is fetched (an operator's `git pull`). */
const HEAD_EVERY_MS = 30_000;

export class StateRepoFollower {
  private readHead: string | null = null;
  private lastFetchMs = Number.NEGATIVE_INFINITY;
  private lastHeadMs = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | null = null;
  private ready: CompetitionFacts | null = null;
  readonly counters = { fetches: 0, reads: 0, failures: 0 };

  constructor(
    private readonly config: CompetitionConfig,
    private readonly warnings: Warnings,
    private readonly logger: Logger,
  ) {}

  /** Reads the facts at the current head (at start, before anything is linked). Null when it cannot: warned. */
  async readNow(nowMs: number): Promise<CompetitionFacts | null> {
    await this.work(nowMs, false);
    return this.take();
  }

  /** Called by the daemon's loop: starts a fetch or a head check when one is due; never waits for git. */
  poll(nowMs: number): void {
    if (this.running) return;
    const fetchDue = this.config.fetchMinutes > 0 && nowMs - this.lastFetchMs >= this.config.fetchMinutes * 60_000;
    if (!fetchDue && nowMs - this.lastHeadMs < HEAD_EVERY_MS) return;
    this.running = this.work(nowMs, fetchDue).finally(() => {
      this.running = null;
    });
  }

  /** Facts read since the last call, if any. */
  take(): CompetitionFacts | null {
    const f = this.ready;
    this.ready = null;
    return f;
  }

  /** Waits for a fetch or read in progress (a graceful stop). */
  async settle(): Promise<void> {
    await this.running;
  }

  private async work(nowMs: number, fetch: boolean): Promise<void> {
    const repo = this.config.stateRepo;
    this.lastHeadMs = nowMs;
    if (fetch) {
      this.lastFetchMs = nowMs;
      try {
        const r = await refreshStateRepo(repo);
        this.counters.fetches++;
        this.warnings.clear('state_repo_fetch', `the state repository ${repo} fetches again`);
        if (r.changed) this.logger.info({ repo, from: r.before.slice(0, 12), to: r.after.slice(0, 12) }, 'state repository fast-forwarded');
      } catch (err) {
        this.counters.failures++;
        this.warnings.raise('state_repo_fetch', `the state repository ${repo} could not be fetched: ${(err as Error).message}`, nowMs, { repo });
      }
    }
    try {
      const head = await stateRepoHead(repo);
      if (head === this.readHead) return;
      const facts = await readCompetitionFacts(repo, this.config.hotkey, head);
      this.readHead = head;
      this.counters.reads++;
      this.ready = facts;
      this.warnings.clear('state_repo_read', `the state repository ${repo} reads again`);
      for (const n of facts.notUnderstood)
        this.warnings.raise(`state_repo_shape:${n.file}`, `state repository file of a shape this collector does not know, not read: ${n.file} (${n.reason})`, nowMs, { repo });
      const round = facts.rounds.at(-1);
      this.logger.info(
        { repo, commit: head.slice(0, 12), competition: facts.name, rounds: facts.rounds.length, lastRound: round?.round ?? null },
        `state repository read at ${head.slice(0, 12)}`,
      );
    } catch (err) {
      this.counters.failures++;
      this.warnings.raise('state_repo_read', `the state repository ${repo} could not be read: ${(err as Error).message}`, nowMs, { repo });
    }
  }
}
