/** The parse stage: a followed file's lines -> typed events, by ordered declarative rules. */
export { StreamParser, type StreamParserOptions } from './stream-parser';
export { compileRules, CompiledRule, RuleSchema, RulesFileSchema, SETTABLE_PATHS, type Rule, type FieldValue } from './rules';
export { DEFAULT_RULES } from './default-rules';
export { parseHeader, type Header, type LogFormat } from './headers';
export { Pm2Envelope, type Piece, type Pm2Mode } from './pm2-envelope';
export { localTimeToUtc, parseZonedTime, hostTimeZone, checkTimeZone, isoUtc } from './local-time';
export { redactSecrets } from './redact';
export { emptyParseStats, type LogEvent, type ParseStats, type StreamSpec, type Role } from './events';
