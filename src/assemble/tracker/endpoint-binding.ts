/** Which endpoint a URL in a miner line names: a worker group where the config maps it, else the URL. */
import type { Binding } from './attribution';
import type { TrackerContext } from './book';

/** A URL without its trailing slashes. */
export const normUrl = (u: string): string => u.replace(/\/+$/, '');

/**
 * The endpoint a URL in a miner line names. The miner logs the URL it posts to, upstream's
 * `urljoin(endpoint, "/generate/")`, where the config and `Worker (url) started` give the endpoint
 * itself: a configured or announced endpoint matches the URL itself or the URL's origin.
 */
export function endpointBinding(cx: TrackerContext, url: string): Binding {
  // the answer changes only when an endpoint is announced: the search asks for the run's every solve
  let known = bindings.get(cx.book);
  if (!known || known.urls !== cx.book.endpointUrls || known.count !== cx.book.endpointUrls.length) {
    known = { urls: cx.book.endpointUrls, count: cx.book.endpointUrls.length, byUrl: new Map() };
    bindings.set(cx.book, known);
  }
  let b = known.byUrl.get(url);
  if (!b) {
    b = bindingOf(cx, url);
    if (known.byUrl.size >= 1024) known.byUrl.clear();
    known.byUrl.set(url, b);
  }
  return { ...b };
}

/** endpointBinding's answers, per book, while its announced endpoints stay the same. */
const bindings = new WeakMap<TrackerContext['book'], { urls: string[]; count: number; byUrl: Map<string, Binding> }>();

function bindingOf(cx: TrackerContext, url: string): Binding {
  const u = normUrl(url);
  let origin: string | null = null;
  try {
    origin = new URL(u).origin;
  } catch {
    origin = null;
  }
  const same = (endpoint: string) => {
    const n = normUrl(endpoint);
    return n === u || (origin !== null && (n === origin || u.startsWith(`${n}/`)));
  };
  for (const [endpoint, group] of Object.entries(cx.opts.endpoints)) if (same(endpoint)) return { ns: 'g', value: group };
  return { ns: 'u', value: cx.book.endpointUrls.find(same) ?? origin ?? u };
}
