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
  [/[^\s'"]*\.bittensor\/wallets[^\s'",)]*/g, '[REDACTED_WALLET_PATH]'],
  [/[^\s'"]*\/(?:hotkeys\/|coldkey(?:pub\.txt)?\b)[^\s'",)]*/g, '[REDACTED_WALLET_PATH]'],
  // --wallet.name x, wallet_name=x, hotkey: x (YAML), "coldkey": "x" ...
  [/(--wallet[._](?:name|hotkey|path)[ =])(\S+)/gi, '$1[REDACTED]'],
  [/(["']?(?:wallet[._]?(?:name|hotkey|path)|coldkey|hotkey|mnemonic|seed|password)["']?\s*[=:]\s*)(["'][^"']*["']?|[^\s,)]+)/gi, '$1[REDACTED]'],
];

/**
 * A line that speaks of a wallet or a key may be a piece of a repr PM2 cut in two (`hotkey='b',
 * path='/srv/keys')`): every quoted string and path on it goes.
 */
const KEY_WORDS = /wallet|hotkey|coldkey|keyfile|mnemonic/i;
const QUOTED_OR_PATH = /'[^'\n]*'?|"[^"\n]*"?|(?:~|\.{0,2})\/[^\s'",)]*/g;

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  if (!KEY_WORDS.test(out)) return out;
  return out
    .split('\n')
    .map((line) => (KEY_WORDS.test(line) ? line.replace(QUOTED_OR_PATH, (m) => (m.includes('[REDACTED') ? m : '[REDACTED]')) : line))
    .join('\n');
}
