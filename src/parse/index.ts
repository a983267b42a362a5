/** The parse stage: a followed file's lines -> typed events, by ordered declarative rules. */
export { StreamParser, type StreamParserOptions } from './stream-parser';
export { compileRules, CompiledRule, RuleSchema, RulesFileSchema, SETTABLE_PATHS, FIELD_TYPES, type Rule, type FieldValue, type FieldType } from './rules';
export { DEFAULT_RULES } from './default-rules';
export { parseHeader, type Header, type LogFormat } from './headers';
export { Pm2Envelope, type Piece, type Pm2Mode } from './pm2-envelope';
export { localTimeToUtc, parseZonedTime, hostTimeZone, checkTimeZone, isoUtc } from './local-time';
export { redactSecrets, walletSecrets } from './redact';
export { emptyParseStats, type LogEvent, type ParseStats, type StreamSpec, type Role } from './events';
