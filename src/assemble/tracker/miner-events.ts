/**
 * The miner's own events (start, identity, validator queries, failed pulls, cooldown, stats): what
 * they tell about the tasks to come, and the miner-event records they become.
 */
import { emptyMinerEvent, type GenerationRecord, type MinerEvent } from '../../schema';
import { isoUtc } from '../../parse';
import type { LogEvent } from '../events';
import { addSource, num, str, type TrackerContext } from './book';
import { QUERIES_KEPT, takeQuery } from './queries';
import { closeFeedback, interruptAll } from './close';
import { normUrl } from './endpoint-binding';
import { attribute, type Appliers } from './window';

/** `finney` or its entrypoint is mainnet; `test`, or a test host (wss://test.finney.opentensor.ai), testnet. */
function networkOf(text: string): GenerationRecord['metadata']['network'] {
  if (/^test$|(^|[/.@])test\./i.test(text)) return 'testnet';
  if (/finney/i.test(text)) return 'mainnet';
  return 'local';
}

/** querying_validator / querying_owner: the validator the next task will come from. */
export function onQuery(cx: TrackerContext, e: LogEvent): void {
  const query = { uid: num(e.fields.validator_uid), ms: e.timeMs };
  cx.book.pendingQueries.push({ ...query });
  if (cx.book.pendingQueries.length > 64) cx.book.pendingQueries.shift();
  cx.book.queryLog.push(query);
  if (cx.book.queryLog.length > QUERIES_KEPT) cx.book.queryLog.shift();
}

/** The miner started (again): every open task was cut short; what they left unsettled is settled now. */
export function onMinerStarted(cx: TrackerContext, ap: Appliers, e: LogEvent): void {
  // the events before it are settled among the tasks as they were (a batch may have deferred them)
  if (cx.book.solveDue) attribute(cx, ap);
  closeFeedback(cx);
  for (const t of cx.book.tasks) addSource(t, e);
  interruptAll(cx, 'miner_restarted');
  attribute(cx, ap);
  cx.book.pendingQueries = [];
  cx.book.workerSeconds.clear();
  // a new run: its loops are those it announces next, none of the old run's is busy any more
  cx.book.runEndpoints = [];
  cx.book.writtenBusy = [];
  minerEvent(cx, e, 'miner_restarted', () => {});
}

export function onNeuronStarted(cx: TrackerContext, e: LogEvent): void {
  const { identity } = cx.book;
  if (num(e.fields.uid) !== null) identity.minerUid = num(e.fields.uid);
  if (str(e.fields.chain_endpoint)) identity.network = networkOf(str(e.fields.chain_endpoint)!);
}

export function onNetwork(cx: TrackerContext, e: LogEvent): void {
  if (str(e.fields.network)) cx.book.identity.network = networkOf(str(e.fields.network)!);
}

export function onPullFailed(cx: TrackerContext, e: LogEvent): void {
  const { book } = cx;
  const taken = takeQuery(book);
  const hotkey = str(e.fields.validator_hotkey);
  if (taken?.sure && taken.query.uid !== null && hotkey) book.hotkeyUids.set(hotkey, taken.query.uid);
  minerEvent(cx, e, 'pull_failed', (m) => {
    m.validator_hotkey = str(e.fields.validator_hotkey);
    m.reason = str(e.fields.reason);
  });
}

export function onNoValidators(cx: TrackerContext, e: LogEvent): void {
  minerEvent(cx, e, 'no_validators', () => {});
}

export function onCooldown(cx: TrackerContext, e: LogEvent): void {
  minerEvent(cx, e, 'cooldown', (m) => {
    m.cooldown_seconds = num(e.fields.seconds);
    m.cooldown_violations = num(e.fields.violations);
  });
}

/** `Worker (url) started`: an endpoint of this miner (endpoint errors name it). */
export function onWorkerStarted(cx: TrackerContext, e: LogEvent): void {
  const url = str(e.fields.endpoint);
  if (url) {
    const n = normUrl(url);
    if (!cx.book.endpointUrls.includes(n)) cx.book.endpointUrls.push(n);
    if (!cx.book.runEndpoints.includes(n)) cx.book.runEndpoints.push(n);
  }
  minerEvent(cx, e, 'worker_started', (m) => (m.endpoint = str(e.fields.endpoint)));
}

export function onMinerStats(cx: TrackerContext, e: LogEvent): void {
  if (num(e.fields.uid) !== null) cx.book.identity.minerUid = num(e.fields.uid);
  minerEvent(cx, e, 'miner_stats', (m) => {
    m.stats = {
      uid: num(e.fields.uid),
      block: num(e.fields.block),
      stake: num(e.fields.stake),
      trust: num(e.fields.trust),
      incentive: num(e.fields.incentive),
      emission: num(e.fields.emission),
    };
  });
}

function minerEvent(cx: TrackerContext, e: LogEvent, type: MinerEvent['event'], fill: (m: MinerEvent) => void): void {
  const m = emptyMinerEvent({
    time: isoUtc(e.timeMs),
    event: type,
    host: cx.opts.host,
    miner_app: cx.opts.minerApp,
    source: { file: e.file, offset: e.offset },
    collector_version: cx.opts.collectorVersion,
  });
  fill(m);
  cx.book.minerEvents.push(m);
}
