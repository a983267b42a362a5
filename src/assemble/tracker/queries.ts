/**
 * The miner's validator queries: which validator a pulled task came from (`takeQuery`), and from
 * when its loop was busy pulling it (`pulledAt`).
 */
import { z } from 'zod';

/** A `Querying task from [uid]` line (uid null: the subnet owner). */
export const QueryLineSchema = z.object({ uid: z.number().nullable(), ms: z.number() });
export type QueryLine = z.infer<typeof QueryLineSchema>;
/** A validator queried, its task not pulled yet; `unsure`: an earlier pull took one of several, so which is left is a guess. */
export const PendingQuerySchema = QueryLineSchema.extend({ unsure: z.boolean().optional() });
export type PendingQuery = z.infer<typeof PendingQuerySchema>;

/** The queries a book keeps: those no pull answered yet, and the latest lines (the book's own fields). */
interface QueryBook {
  pendingQueries: PendingQuery[];
  queryLog: QueryLine[];
}

/** Query lines kept for `pulledAt`: far more than a pull's worth at 8 endpoints. */
export const QUERIES_KEPT = 256;
/** A pull gives up after 12 s (upstream): a query older than this before a task was not its. */
const PULL_MS = 15_000;

/**
 * The latest a task of validator `uid` received at `receivedMs` can have been queried for: the last
 * query line before it naming `uid` or the subnet owner (whose uid no query line gives). The loop
 * that pulled it logged its own query first, at or before that line, so it was busy with the task
 * from there. Null when no such line lies within a pull's time (the query is not in the logs read).
 */
export function pulledAt(book: QueryBook, uid: number, receivedMs: number): number | null {
  for (let i = book.queryLog.length - 1; i >= 0; i--) {
    const q = book.queryLog[i]!;
    if (q.ms > receivedMs || (q.uid !== uid && q.uid !== null)) continue;
    return receivedMs - q.ms <= PULL_MS ? q.ms : null;
  }
  return null;
}

/**
 * The query a pull (a task, or a failed pull) answered: the oldest open one (first queried, first
 * served), certain only when it was the one open and no guess came before it.
 */
export function takeQuery(book: QueryBook): { query: PendingQuery; sure: boolean } | null {
  const query = book.pendingQueries.shift();
  if (!query) return null;
  const sure = book.pendingQueries.length === 0 && !query.unsure;
  for (const q of book.pendingQueries) q.unsure = true;
  return { query, sure };
}
