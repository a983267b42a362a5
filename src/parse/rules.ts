/**
 * Declarative rules: a message that starts with `prefix` and matches `pattern` (named groups) becomes
 * an event of type `event` with those fields. A rule with `long` captures one long field (a 500 KB
 * prompt) by slicing: `head` is matched at the start and `end` on the last bytes only, so no regex
 * ever runs over the long field, and a message is never cut short. Operators add or override rules
 * in a JSON rules file (RulesFileSchema), validated with messages naming the rule.
 */
import { z } from 'zod';
import { execFileSync } from 'node:child_process';
import { formatIssues } from '../schema';
import { CollectorError } from '../common/errors';
import { redactSecrets } from './redact';

/**
 * Conversions of captured groups. `string` is redacted (free text can carry a wallet path);
 * `verbatim` is the text exactly as written, for ids that must match elsewhere (the feedback's log id).
 */
export const FIELD_TYPES = ['string', 'verbatim', 'int', 'float', 'score', 'minutes_to_seconds', 'bool', 'pass_fail'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Record fields a rule may set (the open objects and the worker-reported leaves). */
export const SETTABLE_PATHS = [
  /^generation\.timing\.[a-z0-9_]+$/,
  /^generation\.output\.quality_metrics\.[a-z0-9_]+$/,
  /^generation\.output\.gaussian_stats\.[a-z0-9_]+$/,
  /^generation\.output\.(num_gaussians|file_size_bytes)$/,
  /^generation\.(enhanced_prompt|negative_prompt)$/,
  /^generation\.submission\.(pre_submission_rejection|rejection_reason)$/,
  /^miner_config\.[a-z0-9_]+$/,
];

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** Names of a regex's named groups, read from its source. */
function namedGroups(source: string): string[] {
  return [...source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]!);
}

const regexText = z.string().superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
  }
});

export const RuleSchema = z
  .strictObject({
    name: z.string().min(1).describe('Unique name; a rules-file rule with a default rule\'s name replaces it.'),
    source: z.enum(['miner', 'worker', 'generation', 'any']).default('any').describe('Whose lines the rule reads.'),
    event: z.string().regex(/^[a-z][a-z0-9_]*$/).describe('The event type it produces.'),
    prefix: z.string().min(1).describe('Literal start of the message (after the log header): the dispatch key.'),
    pattern: regexText
      .optional()
      .describe('Regex over the whole message (messages up to maxPatternBytes). Without pattern and long, the prefix alone matches.'),
    long: z
      .strictObject({
        field: z.string().regex(/^[a-z][a-z0-9_]*$/),
        head: regexText.optional().describe('Regex anchored at the message start; the long field begins after it.'),
        end: regexText.describe('Regex anchored at the message end ($); the long field stops where it begins.'),
      })
      .optional(),
    types: z.record(z.string(), z.enum(FIELD_TYPES)).default({}).describe('Conversions of captured groups.'),
    set: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .default({})
      .describe('Record fields to set: "$group" takes a captured group, anything else is a constant.'),
    levels: z.array(z.enum(LEVELS)).min(1).optional().describe('Only lines of these levels (e.g. ["ERROR"]).'),
    secret: z
      .boolean()
      .default(false)
      .describe('The line carries secrets (wallet names, paths): no field, and none of its continuation lines, is kept.'),
  })
  .superRefine((r, ctx) => {
    if (r.pattern && r.long) ctx.addIssue({ code: 'custom', message: 'a rule has a pattern or a long field, not both' });
    const groups = new Set([r.pattern, r.long?.head, r.long?.end].flatMap((re) => (re ? namedGroups(re) : [])));
    if (r.secret && groups.size) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a secret rule cannot capture groups' });
    if (r.long && groups.has(r.long.field))
      ctx.addIssue({ code: 'custom', path: ['long', 'field'], message: `${r.long.field} is also a group name` });
    for (const name of Object.keys(r.types))
      if (!groups.has(name)) ctx.addIssue({ code: 'custom', path: ['types', name], message: `no group named ${name} in the rule's regexes` });
    for (const [path, v] of Object.entries(r.set)) {
      if (!SETTABLE_PATHS.some((p) => p.test(path))) ctx.addIssue({ code: 'custom', path: ['set', path], message: `cannot set ${path}` });
      if (typeof v === 'string' && v.startsWith('$') && !groups.has(v.slice(1)))
        ctx.addIssue({ code: 'custom', path: ['set', path], message: `${v}: no group named ${v.slice(1)} in the rule's regexes` });
    }
  });
export type Rule = z.input<typeof RuleSchema>;
export type ParsedRule = z.output<typeof RuleSchema>;

export const RulesFileSchema = z
  .strictObject({
    /** When false, only the file's rules apply. */
    extendDefaults: z.boolean().default(true),
    rules: z.array(RuleSchema),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name ${r.name}` });
      seen.add(r.name);
    });
  });

export type FieldValue = string | number | boolean | null;

export interface RuleMatch {
  rule: CompiledRule;
  fields: Record<string, FieldValue>;
  /** Bounds of the long field within the message. */
  long: { name: string; start: number; end: number } | null;
}

/** How far from the end of a message the `end` regex looks. */
const END_WINDOW = 512;

export class CompiledRule {
  readonly name: string;
  readonly event: string;
  readonly source: ParsedRule['source'];
  readonly prefix: Buffer;
  private readonly pattern: RegExp | null;
  private readonly head: RegExp | null;
  private readonly end: RegExp | null;
  readonly longField: string | null;
  private readonly types: Record<string, FieldType>;
  readonly set: Record<string, FieldValue>;
  private readonly levels: Set<string> | null;
  readonly secret: boolean;

  constructor(rule: ParsedRule) {
    this.name = rule.name;
    this.event = rule.event;
    this.source = rule.source;
    this.prefix = Buffer.from(rule.prefix, 'utf8');
    this.pattern = rule.pattern ? new RegExp(rule.pattern, 's') : null;
    this.head = rule.long?.head ? new RegExp(rule.long.head.startsWith('^') ? rule.long.head : `^(?:${rule.long.head})`, 's') : null;
    this.end = rule.long ? new RegExp(rule.long.end.endsWith('$') ? rule.long.end : `(?:${rule.long.end})$`, 's') : null;
    this.longField = rule.long?.field ?? null;
    this.types = rule.types;
    this.set = rule.set;
    this.levels = rule.levels ? new Set(rule.levels) : null;
    this.secret = rule.secret;
  }

  appliesTo(role: 'miner' | 'worker' | 'generation', level: string): boolean {
    return (this.source === 'any' || this.source === role) && (!this.levels || this.levels.has(level));
  }

  startsWith(message: Buffer): boolean {
    return message.length >= this.prefix.length && message.compare(this.prefix, 0, this.prefix.length, 0, this.prefix.length) === 0;
  }

  /** Matches a whole message; null when it does not fit. `maxPatternBytes` bounds regex input. */
  match(message: Buffer, maxPatternBytes: number): RuleMatch | null {
    if (this.end) return this.matchLong(message);
    if (!this.pattern) return this.startsWith(message) ? { rule: this, fields: {}, long: null } : null;
    if (message.length > maxPatternBytes) return null;
    const m = this.pattern!.exec(message.toString('utf8'));
    if (!m) return null;
    return { rule: this, fields: this.convert(m.groups), long: null };
  }

  /** How a captured group is converted (`string` when the rule does not say). */
  fieldType(name: string): FieldType {
    return this.types[name] ?? 'string';
  }

  /** Whether a long-field rule's end regex matches at the end of `tail` (the last bytes of a message). */
  endsAt(tail: Buffer): boolean {
    return this.end !== null && this.end.test(tail.toString('latin1', Math.max(0, tail.length - END_WINDOW)));
  }

  private matchLong(message: Buffer): RuleMatch | null {
    let start = this.prefix.length;
    let groups: Record<string, string> = {};
    if (this.head) {
      const headText = message.toString('utf8', 0, Math.min(message.length, this.prefix.length + END_WINDOW));
      const m = this.head.exec(headText);
      if (!m) return null;
      start = Buffer.byteLength(m[0]);
      groups = { ...m.groups };
    }
    const tailStart = Math.max(start, message.length - END_WINDOW);
    // latin1 keeps one char per byte, so a match index is a byte offset
    const tail = message.toString('latin1', tailStart);
    const m = this.end!.exec(tail);
    if (!m) return null;
    const endGroups = m.groups ? Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, v === undefined ? v : Buffer.from(v, 'latin1').toString('utf8')])) : {};
    return {
      rule: this,
      fields: this.convert({ ...groups, ...endGroups }),
      long: { name: this.longField!, start, end: tailStart + m.index },
    };
  }

  private convert(groups: Record<string, string | undefined> | undefined): Record<string, FieldValue> {
    const out: Record<string, FieldValue> = {};
    if (!groups) return out;
    for (const [k, v] of Object.entries(groups)) out[k] = v === undefined ? null : convertValue(v, this.types[k] ?? 'string');
    return out;
  }
}

function convertValue(v: string, type: FieldType): FieldValue {
  switch (type) {
    case 'string':
      return redactSecrets(v);
    case 'verbatim':
      return v;
    case 'int': {
      const n = Number.parseInt(v, 10);
      return Number.isFinite(n) ? n : null;
    }
    case 'float': {
      const n = Number.parseFloat(v);
      return Number.isFinite(n) ? n : null;
    }
    case 'score': {
      // the validator's score, or "failed" when the validation returned nothing
      if (v === 'failed' || v === 'None') return 'failed';
      const n = Number.parseFloat(v);
      return Number.isFinite(n) ? n : null;
    }
    case 'minutes_to_seconds': {
      const n = Number.parseFloat(v);
      return Number.isFinite(n) ? Math.round(n * 60 * 1000) / 1000 : null;
    }
    case 'bool':
      return /^(true|pass|yes|1)$/i.test(v);
    case 'pass_fail':
      // PASS/FAIL (any case); anything else is unknown, not false
      return /^pass(ed)?$/i.test(v) ? true : /^fail(ed)?$/i.test(v) ? false : null;
  }
}

/** Validates and compiles the rules: a rules file's first (in its order), then the defaults it does not replace. */
export function compileRules(defaults: Rule[], file?: unknown, fileName = 'rules file'): CompiledRule[] {
  const byName = new Map<string, ParsedRule>();
  let extendDefaults = true;
  let extra: ParsedRule[] = [];
  if (file !== undefined) {
    const parsed = RulesFileSchema.safeParse(file);
    if (!parsed.success) {
      const rules = (file as { rules?: unknown } | null)?.rules;
      const named = parsed.error.issues.map((i) => {
        if (i.path[0] !== 'rules' || typeof i.path[1] !== 'number') return formatIssues(new z.ZodError([i]));
        // name the rule (and its position: a rule without a valid name), then the problem inside it
        const idx = i.path[1];
        const name = Array.isArray(rules) ? (rules[idx] as { name?: unknown } | undefined)?.name : undefined;
        const which = typeof name === 'string' && name ? `rule "${name}" (#${idx + 1})` : `rule #${idx + 1}`;
        const inner = i.path.slice(2).map(String).join('.');
        return `${which}: ${inner ? `${inner}: ` : ''}${i.message}`;
      });
      throw new CollectorError('CONFIG_INVALID', `invalid ${fileName}: ${named.join('; ')}`, null, 'fix the rules file (docs/rules.md)');
    }
    extendDefaults = parsed.data.extendDefaults;
    extra = parsed.data.rules;
    const slow = superLinear(extra).flatMap((whys, i) => whys.map((why) => `rule "${extra[i]!.name}": ${why}`));
    if (slow.length)
      throw new CollectorError(
        'CONFIG_INVALID',
        `invalid ${fileName}: ${slow.join('; ')}`,
        null,
        'rewrite the pattern so no part of a line can be matched in several ways (e.g. (\\d+\\.?\\d*)+ -> \\d+(?:\\.\\d+)?); docs/rules.md, "Patterns that never hang"',
      );
  }
  // The file's rules are tried first, so an operator's rule can shadow a default; same name = replace.
  for (const r of extra) byName.set(r.name, r);
  if (extendDefaults) for (const r of defaults) if (!byName.has(r.name)) byName.set(r.name, RuleSchema.parse(r));
  return [...byName.values()].map((r) => new CompiledRule(r));
}

/**
 * Why each rule's regexes could hang the collector on one crafted line, checked statically (recheck):
 * a pattern whose matching time grows exponentially or as the cube of the line (it sees lines up to
 * maxPatternBytes), or a long field's head or end whose time grows faster than the line (it sees whole
 * prompts). Only an operator's rules are checked (about 0.1 s each); the defaults are checked once, by
 * a test. recheck (a Scala.js bundle: 32 MB of RSS once loaded) runs in one child process for all of
 * them, so the daemon does not keep it.
 */
export function superLinear(rules: Pick<ParsedRule, 'pattern' | 'long'>[]): string[][] {
  const parts = rules.flatMap((rule, i) =>
    ([
      ['pattern', rule.pattern ?? undefined, 3],
      ['long.head', rule.long?.head, 2],
      ['long.end', rule.long?.end, 2],
    ] as [string, string | undefined, number][]).flatMap(([where, source, worstDegree]) => (source ? [{ i, where, source, worstDegree }] : [])),
  );
  const out = rules.map((): string[] => []);
  if (!parts.length) return out;
  const found = recheckInChild(parts.map((p) => p.source));
  parts.forEach((p, k) => {
    // 'unknown' (the analysis ran out of time, e.g. on a loaded machine) is accepted: a rules file
    // that loads or not with the machine's load would be worse; such a pattern still sees at most maxPatternBytes
    const d = found[k]!;
    if (d.status !== 'vulnerable' || !d.complexity) return;
    const c = d.complexity;
    if (c.type === 'exponential' || (c.degree ?? 0) >= p.worstDegree)
      out[p.i]!.push(`${p.where} can take ${c.type === 'exponential' ? 'exponential' : `n^${c.degree}`} time on a crafted line such as ${JSON.stringify((d.attack ?? '').slice(0, 40))}`);
  });
  return out;
}

/** What the child prints per pattern: recheck's verdict, reduced. */
interface RecheckVerdict {
  status: string;
  complexity?: { type: string; degree?: number };
  attack?: string;
}

/** argv: recheck's main file, the patterns as JSON. */
const RECHECK_SCRIPT = `
const [main, sources] = process.argv.slice(1);
const { checkSync } = require(main);
const out = JSON.parse(sources).map((source) => {
  const d = checkSync(source, 's', { timeout: 5000 });
  return d.status === 'vulnerable' ? { status: d.status, complexity: { type: d.complexity.type, degree: d.complexity.degree }, attack: d.attack.string.slice(0, 40) } : { status: d.status };
});
process.stdout.write(JSON.stringify(out));
`;

function recheckInChild(sources: string[]): RecheckVerdict[] {
  const stdout = execFileSync(process.execPath, ['-e', RECHECK_SCRIPT, require.resolve('recheck'), JSON.stringify(sources)], { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 60_000 + 5000 * sources.length });
  return JSON.parse(stdout) as RecheckVerdict[];
}
