/**
 * The default rules: every message of the upstream miner and worker listed in
 * reference/upstream-miner-logs.md, including older wordings. Order matters only where prefixes
 * overlap (the current feedback line before the pre-2025-10 one). Patterns are anchored at both ends
 * where the template has a definite end: in date-prefix mode a line may arrive in pieces, and a
 * pattern that fitted a line's first piece alone would read a cut figure as a whole one.
 */
import type { Rule } from './rules';

const NUM = '[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?';

export const DEFAULT_RULES: Rule[] = [
  // --- miner: one task ---
  { name: 'querying_validator', source: 'miner', event: 'querying_validator', prefix: 'Querying task from [',
    pattern: `^Querying task from \\[(?<validator_uid>\\d+)\\]\\. Stake: (?<stake>${NUM})$`, types: { validator_uid: 'int', stake: 'float' } },
  { name: 'querying_owner', source: 'miner', event: 'querying_owner', prefix: 'Querying task from the subnet owner', pattern: '^Querying task from the subnet owner\\.?$' },
  { name: 'no_validators', source: 'miner', event: 'no_validators', prefix: 'No available validators', pattern: '^No available validators to pull the task\\.?$' },
  { name: 'task_received', source: 'miner', event: 'task_received', prefix: 'Task received. Prompt: ',
    long: { field: 'prompt', end: '\\. Version: (?<version>\\S+)$|\\.$' } },
  { name: 'generating', source: 'miner', event: 'generating', prefix: 'Generating for prompt: ',
    long: { field: 'prompt', end: ' with timeout (?<timeout>\\S+) seconds$' } },
  { name: 'generation_completed', source: 'miner', event: 'generation_completed', prefix: 'Generation completed. Size: ',
    pattern: '^Generation completed\\. Size: (?<bytes>\\d+)$', types: { bytes: 'int' } },
  { name: 'generation_failed', source: 'miner', event: 'generation_failed', prefix: 'Generation failed with code: ',
    pattern: '^Generation failed with code: (?<status>\\d+)$', types: { status: 'int' } },
  { name: 'endpoint_unreachable', source: 'miner', event: 'endpoint_unreachable',
    prefix: 'Failed to connect to the endpoint.', pattern: '^Failed to connect to the endpoint\\. The endpoint might be inaccessible: (?<endpoint>\\S+?)\\.?$' },
  { name: 'endpoint_timeout', source: 'miner', event: 'endpoint_timeout', prefix: 'The request to the endpoint timed out: ',
    pattern: '^The request to the endpoint timed out: (?<endpoint>\\S+?)\\.?$' },
  { name: 'client_error', source: 'miner', event: 'client_error', prefix: 'An unexpected client error occurred: ',
    pattern: '^An unexpected client error occurred: (?<error>.*) \\((?<endpoint>[^()\\s]+)\\)$' },
  { name: 'unexpected_error', source: 'miner', event: 'client_error', prefix: 'An unexpected error occurred: ',
    pattern: '^An unexpected error occurred: (?<error>.*) \\((?<endpoint>[^()\\s]+)\\)$' },
  { name: 'submit_failed', source: 'miner', event: 'submit_failed', prefix: 'Failed to submit results to [',
    pattern: '^Failed to submit results to \\[(?<validator_hotkey>[^\\]]*)\\]\\. Reason: (?<reason>.*)\\.$' },
  { name: 'feedback', source: 'miner', event: 'feedback', prefix: 'Feedback received from [',
    pattern: '^Feedback received from \\[(?<validator_uid>\\d+)\\]\\. Score: (?<score>\\S+?)\\. \\((?<log_id>.*)\\)$',
    types: { validator_uid: 'int', score: 'score', log_id: 'verbatim' } },
  // miners before 2025-10-14: the full prompt instead of the log id
  { name: 'feedback_with_prompt', source: 'miner', event: 'feedback', prefix: 'Feedback received from [',
    long: { field: 'prompt', head: 'Feedback received from \\[(?<validator_uid>\\d+)\\]\\. Prompt: ', end: '\\. Score: (?<score>\\S+)$' },
    types: { validator_uid: 'int', score: 'score' } },
  // "(last 4h)" today, "(last 8h)" until 2024-12; the duel rating only since 2025
  { name: 'feedback_detail', source: 'miner', event: 'feedback_detail', prefix: 'Average score: ',
    pattern: `^Average score: (?<average_score>${NUM})\\.? (?:Current duel rating: (?<duel_rating>${NUM})\\.? )?Accepted results \\(last (?<accepted_window_hours>\\d+)h\\): (?<accepted_recent>\\d+)\\.(?: Reward: (?<reward>${NUM})\\.?)?$`,
    types: { average_score: 'float', duel_rating: 'float', accepted_window_hours: 'int', accepted_recent: 'int', reward: 'float' } },

  // --- miner: standing, no task ---
  { name: 'pull_failed', source: 'miner', event: 'pull_failed', prefix: 'Failed to get task from [',
    pattern: '^Failed to get task from \\[(?<validator_hotkey>[^\\]]*)\\]\\. Reason: (?<reason>.*)\\.$' },
  { name: 'cooldown', source: 'miner', event: 'cooldown', prefix: 'Miner is on cooldown for the next: ',
    pattern: '^Miner is on cooldown for the next: (?<seconds>\\d+) sec\\. Total cooldown violations: (?<violations>\\d+)$',
    types: { seconds: 'int', violations: 'int' } },
  { name: 'miner_stats', source: 'miner', event: 'miner_stats', prefix: 'Miner | UID:',
    pattern: `^Miner \\| UID:(?<uid>\\d+) \\| Block:(?<block>\\d+) \\| Stake:(?<stake>${NUM}) \\| Trust:(?<trust>${NUM}) \\| Incentive:(?<incentive>${NUM}) \\| Emission:(?<emission>${NUM})$`,
    types: { uid: 'int', block: 'int', stake: 'float', trust: 'float', incentive: 'float', emission: 'float' } },
  { name: 'worker_started', source: 'miner', event: 'worker_started', prefix: 'Worker (', pattern: '^Worker \\((?<endpoint>[^)\\s]+)\\) started$' },

  // --- miner: start-up (a restart shows only as these lines coming again) ---
  // The config and wallet lines carry wallet names and paths: matched by their prefix alone (any
  // length), nothing captured, their continuation lines (bittensor prints the config as YAML) dropped.
  { name: 'miner_starting', source: 'miner', event: 'miner_started', prefix: 'Starting with config: ', secret: true },
  { name: 'wallet', source: 'miner', event: 'wallet', prefix: 'Wallet: ', secret: true },
  { name: 'neuron_started', source: 'miner', event: 'neuron_started', prefix: 'Running neuron on subnet ',
    pattern: '^Running neuron on subnet (?<netuid>\\d+) with uid (?<uid>\\d+) using network: (?<chain_endpoint>\\S+)$',
    types: { netuid: 'int', uid: 'int' } },
  { name: 'subtensor_network', source: 'miner', event: 'network', prefix: 'Subtensor: Network: ',
    pattern: '^Subtensor: Network: (?<network>[^,\\s]+), Chain: (?<chain_endpoint>\\S+)$' },
  { name: 'metagraph', source: 'miner', event: 'network', prefix: 'Metagraph: metagraph(', pattern: 'network:(?<network>[^)\\s,]+)\\)$' },
  { name: 'connected', source: 'miner', event: 'network', prefix: 'Connected to ',
    pattern: '^Connected to (?<network>\\S+) network and (?<chain_endpoint>\\S+?)\\.?$' },

  // --- upstream generation worker (generation/serve.py) ---
  { name: 'worker_generation_took', source: 'worker', event: 'worker_metrics', prefix: ' Generation took: ',
    pattern: `^ Generation took: (?<minutes>${NUM}) min$`, types: { minutes: 'minutes_to_seconds' },
    set: { 'generation.timing.generation_time': '$minutes' } },
  { name: 'worker_saving_took', source: 'worker', event: 'worker_metrics', prefix: ' Saving and encoding took: ',
    pattern: `^ Saving and encoding took: (?<minutes>${NUM}) min$`, types: { minutes: 'minutes_to_seconds' },
    set: { 'generation.timing.saving_time': '$minutes' } },

  // --- competition mode: the base miners' generation service (404-base-miner, 404-base-miner-mesh serve.py) ---
  // The old miner's bittensor line also starts with `Task received.`: these rules read only the service's lines.
  { name: 'service_task_received', source: 'generation', event: 'service_task_received', prefix: 'Task received. Prompt-Image',
    pattern: '^Task received\\. Prompt-Image\\.?$' },
  { name: 'service_model_time', source: 'generation', event: 'service_metrics', prefix: 'Model Generation took: ',
    pattern: `^Model Generation took: (?<seconds>${NUM}) secs\\.?$`, types: { seconds: 'float' },
    set: { 'generation.timing.model_generation_time': '$seconds' } },
  { name: 'service_gc_time', source: 'generation', event: 'service_metrics', prefix: 'Garbage Collection took: ',
    pattern: `^Garbage Collection took: (?<seconds>${NUM}) secs\\.?$`, types: { seconds: 'float' },
    set: { 'generation.timing.garbage_collection_time': '$seconds' } },
  { name: 'service_task_completed', source: 'generation', event: 'service_task_completed', prefix: 'Task completed.', pattern: '^Task completed\\.$' },
  { name: 'service_loading', source: 'generation', event: 'service_starting', prefix: 'Loading Trellis' },
  { name: 'service_ready', source: 'generation', event: 'service_ready', prefix: 'Warm-up is complete. Server is ready.' },
  { name: 'service_load_failed', source: 'generation', event: 'service_failed', prefix: 'Exception during model loading: ' },
  { name: 'service_warmup_failed', source: 'generation', event: 'service_failed', prefix: 'Exception during warming up the generator: ' },
];
