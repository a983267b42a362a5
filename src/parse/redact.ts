/**
 * Wallet names, hotkey names and wallet paths must never reach a data file or the collector's log.
 * Free text that goes into a record (error messages, stack traces, reasons) passes through here.
 * A wallet lives at `<path>/<name>/coldkey|coldkeypub.txt|hotkeys/<hotkey>`: any path with those
 * parts is a wallet path, wherever `--wallet.path` points.
 */
const PATTERNS: [RegExp, string][] = [
  // bittensor Config(...) reprs: wallet=Config(name='x', hotkey='y', path='z')
  [/wallet=Config\([^)]*\)?/gi, 'wallet=Config([REDACTED])'],
  // Wallet (Name: 'x', Hotkey: 'y', Path: 'z'), bt.wallet(name=..., hotkey=...) and similar
  [/\bwallet ?\([^)]*\)?/gi, 'Wallet([REDACTED])'],
  // any path into a bittensor wallets folder, or to a key file of a wallet
  [/[^\s'"]*\.bittensor\/wallets[^\s'",)]*/g, '[REDACTED_PATH]'],
  [/[^\s'"]*\/(?:hotkeys\/|coldkey(?:pub\.txt)?\b)[^\s'",)]*/g, '[REDACTED_PATH]'],
  // --wallet.name x, wallet_name=x, hotkey: x (YAML), "coldkey": "x" ...
  [/(--wallet[._](?:name|hotkey|path)[ =])(\S+)/gi, '$1[REDACTED]'],
  // (a bare `path=` too: in a cut repr it may be the wallet's, with nothing left to say so)
  [/(["']?\b(?:wallet[._]?(?:name|hotkey|path)|coldkey|hotkey|mnemonic|seed|password|path)["']?\s*[=:]\s*)(["'][^"']*["']?|[^\s,)]+)/gi, '$1[REDACTED]'],
];

/**
 * A line that still speaks of a wallet or a key may hold a piece of a repr or a command line that
 * PM2 cut in two (` sn17-hot-01 --wallet.path /srv/keys`), which no pattern recognises: such a line
 * keeps only its start (indentation and first word, or an exception's name) and loses the rest.
 */
const KEY_WORDS = /wallet|hotkey|coldkey|keyfile|mnemonic/i;
const OWN_MARKS = /(?:wallet=Config|Wallet)\(\[REDACTED\]\)|\[REDACTED\w*\]/g;
const LINE_START = /^\s*(?:["']?[\w.]+["']?: |\S+ ?)?/;

/** A quote opened and not closed: the line was cut inside a string (a path, a name), which goes. */
function cutQuote(line: string): string {
  for (const q of ["'", '"']) {
    const n = line.split(q).length - 1;
    if (n % 2 === 1) return line.slice(0, line.lastIndexOf(q) + 1) + '[REDACTED]';
  }
  return line;
}

function redactLine(line: string): string {
  line = cutQuote(line);
  if (!KEY_WORDS.test(line.replace(OWN_MARKS, ''))) return line;
  const keep = LINE_START.exec(line)![0];
  return `${keep}[REDACTED]`;
}

/**
 * Redacts `text`. `known` are secrets known by name (the operator's wallet names and path, or those
 * read from the miner's config line): they go wherever they appear, even in a piece of a cut line
 * that nothing else recognises.
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  const found = walletFileSecrets(text);
  const all = found.length ? [...new Set([...known, ...found])].sort((a, b) => b.length - a.length) : known;
  for (const k of all) if (out.includes(k)) out = out.split(k).join('[REDACTED]');
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out.split('\n').map(redactLine).join('\n');
}
/** The wallet's name, hotkey and path as the config and wallet lines print them (to redact them later). */
export function walletSecrets(text: string): string[] {
  const out = new Set<string>();
  const re = /\b(?:name|hotkey|path)\b["']?\s*[=:]\s*["']?([^\s'",)]+)/gi;
  for (const m of text.matchAll(re)) {
    // a trailing slash is not part of the path's identity
    const v = m[1]!.replace(/\/+$/, '');
    if (v.length >= 3) out.add(v);
  }
  return [...out];
}

/**
 * The wallet folder, name and hotkey that a path to a key file gives away
 * (`<path>/<name>/coldkeypub.txt`, `<path>/<name>/hotkeys/<hotkey>`): a piece of the same text cut
 * off elsewhere (` /srv/keys`) goes too.
 */
export function walletFileSecrets(text: string): string[] {
  const out = new Set<string>();
  const re = /([^\s'"=:]*)\/([^\s'"/]+)\/(?:coldkeypub\.txt|coldkey\b|hotkeys\/([^\s'",)/]+))/g;
  for (const m of text.matchAll(re)) for (const v of [m[1], m[2], m[3]]) if (v && v.replace(/\/+$/, '').length >= 3) out.add(v.replace(/\/+$/, ''));
  return [...out];
}
