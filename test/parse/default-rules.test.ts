/** Every default rule on the upstream templates (reference/upstream-miner-logs.md), older wordings included. */
import { DEFAULT_RULES } from '../../src/parse';
import { base64Prompt, bt, loguru, one, parseLines, WORKER } from './helpers';

const HOTKEY = '5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX';

describe('miner task messages', () => {
  test('task_received: text prompt', () => {
    const e = one(bt('Task received. Prompt: a red wooden chair #1.'));
    expect(e).toMatchObject({ type: 'task_received', rule: 'task_received', damaged: false, level: 'DEBUG' });
    expect(e.long!.toString()).toBe('a red wooden chair #1');
    expect(e.fields).toEqual({ version: null });
  });

  test('task_received: a prompt ending with a dot keeps its dot', () => {
    expect(one(bt('Task received. Prompt: a chair. Then a table..')).long!.toString()).toBe('a chair. Then a table.');
  });

  test('task_received: base64 image prompt, exact bytes', () => {
    const p = base64Prompt(300_000);
    const e = one(bt(`Task received. Prompt: ${p}.`));
    expect(e.long!.equals(Buffer.from(p))).toBe(true);
  });

  test('task_received: before 2025-01-23, with Version', () => {
    const e = one(bt('Task received. Prompt: a blue vase. Version: 1.3.0'));
    expect(e.type).toBe('task_received');
    expect(e.long!.toString()).toBe('a blue vase');
    expect(e.fields).toEqual({ version: '1.3.0' });
  });

  test('task_received: UTF-8 prompt bytes are kept exactly', () => {
    const p = 'une chaise rouge \u00e9l\u00e9gante \u{1F680}';
    expect(one(bt(`Task received. Prompt: ${p}.`)).long!.toString('utf8')).toBe(p);
  });

  test('generating', () => {
    const e = one(bt('Generating for prompt: a red wooden chair #1 with timeout None seconds'));
    expect(e.type).toBe('generating');
    expect(e.long!.toString()).toBe('a red wooden chair #1');
    expect(e.fields).toEqual({ timeout: 'None' });
    expect(one(bt('Generating for prompt: x with timeout 30.0 seconds')).fields).toEqual({ timeout: '30.0' });
  });

  test('generation_completed / generation_failed', () => {
    expect(one(bt('Generation completed. Size: 27550631'))).toMatchObject({ type: 'generation_completed', fields: { bytes: 27550631 } });
    expect(one(bt('Generation failed with code: 500', { level: 'ERROR' }))).toMatchObject({ type: 'generation_failed', fields: { status: 500 } });
  });

  test('endpoint failures and client errors', () => {
    expect(one(bt('Failed to connect to the endpoint. The endpoint might be inaccessible: http://127.0.0.1:8093/generate/.', { level: 'ERROR' })))
      .toMatchObject({ type: 'endpoint_unreachable', fields: { endpoint: 'http://127.0.0.1:8093/generate/' } });
    expect(one(bt('The request to the endpoint timed out: http://127.0.0.1:8094/generate/', { level: 'ERROR' })))
      .toMatchObject({ type: 'endpoint_timeout', fields: { endpoint: 'http://127.0.0.1:8094/generate/' } });
    expect(one(bt('An unexpected client error occurred: Server disconnected (http://127.0.0.1:8093/generate/)', { level: 'ERROR' })))
      .toMatchObject({ type: 'client_error', rule: 'client_error', fields: { error: 'Server disconnected', endpoint: 'http://127.0.0.1:8093/generate/' } });
    expect(one(bt('An unexpected error occurred: division by zero (http://127.0.0.1:8093/generate/)', { level: 'ERROR' })))
      .toMatchObject({ type: 'client_error', rule: 'unexpected_error', fields: { error: 'division by zero' } });
  });

  test('submit_failed', () => {
    expect(one(bt(`Failed to submit results to [${HOTKEY}]. Reason: Request timeout after 300.0 seconds.`, { level: 'WARNING' })))
      .toMatchObject({ type: 'submit_failed', fields: { validator_hotkey: HOTKEY, reason: 'Request timeout after 300.0 seconds' } });
  });

  test('feedback: current wording, numeric, zero and failed scores', () => {
    expect(one(bt('Feedback received from [142]. Score: 0.6786. (a red wooden chair #1)')))
      .toMatchObject({ type: 'feedback', rule: 'feedback', fields: { validator_uid: 142, score: 0.6786, log_id: 'a red wooden chair #1' }, long: null });
    expect(one(bt('Feedback received from [7]. Score: 0.0. (x)')).fields.score).toBe(0);
    expect(one(bt('Feedback received from [7]. Score: failed. (x)')).fields.score).toBe('failed');
  });

  test('feedback: log id with parentheses, dots and the 97-char cut', () => {
    const id = 'a chair (red). With a lamp (on). ' + 'x'.repeat(64) + '...';
    expect(one(bt(`Feedback received from [49]. Score: 0.71. (${id})`)).fields.log_id).toBe(id);
    expect(one(bt('Feedback received from [49]. Score: 0.71. ((())).)')).fields.log_id).toBe('(())).');
    const img = 'image:ec879617ff84d61435f0938bd25a8ffd1bbb64afc368157f8c0c9b0876549057';
    expect(one(bt(`Feedback received from [128]. Score: 0.7333. (${img})`)).fields.log_id).toBe(img);
  });

  test('feedback: before 2025-10-14, with the full prompt (text and base64)', () => {
    const e = one(bt('Feedback received from [12]. Prompt: a red chair. Score: 0.66'));
    expect(e).toMatchObject({ type: 'feedback', rule: 'feedback_with_prompt', fields: { validator_uid: 12, score: 0.66 } });
    expect(e.long!.toString()).toBe('a red chair');
    const p = base64Prompt(200_000, 9);
    const f = one(bt(`Feedback received from [3]. Prompt: ${p}. Score: failed`));
    expect(f.long!.equals(Buffer.from(p))).toBe(true);
    expect(f.fields).toEqual({ validator_uid: 3, score: 'failed' });
  });

  test('feedback_detail: current, early-2025 (no duel rating) and 2024 (last 8h)', () => {
    expect(one(bt('Average score: 0.62. Current duel rating: 1501.0. Accepted results (last 4h): 41. Reward: 0.0112.')).fields).toEqual({
      average_score: 0.62, duel_rating: 1501, accepted_window_hours: 4, accepted_recent: 41, reward: 0.0112,
    });
    expect(one(bt('Average score: 0.58. Accepted results (last 4h): 12. Reward: 0.003.')).fields).toEqual({
      average_score: 0.58, duel_rating: null, accepted_window_hours: 4, accepted_recent: 12, reward: 0.003,
    });
    expect(one(bt('Average score: 0.7. Accepted results (last 8h): 80. Reward: 0.5.')).fields).toMatchObject({
      accepted_window_hours: 8, accepted_recent: 80, duel_rating: null,
    });
  });

  test('selecting a validator', () => {
    expect(one(bt('Querying task from [142]. Stake: 123456.78'))).toMatchObject({ type: 'querying_validator', fields: { validator_uid: 142, stake: 123456.78 } });
    expect(one(bt('Querying task from the subnet owner')).type).toBe('querying_owner');
    expect(one(bt('No available validators to pull the task.')).type).toBe('no_validators');
  });
});

describe('miner standing and start-up messages', () => {
  test('pull_failed, with a reason and Unknown', () => {
    expect(one(bt(`Failed to get task from [${HOTKEY}]. Reason: Service unavailable at 1.2.3.4:8091/PullTask.`, { level: 'WARNING' })))
      .toMatchObject({ type: 'pull_failed', fields: { validator_hotkey: HOTKEY, reason: 'Service unavailable at 1.2.3.4:8091/PullTask' } });
    expect(one(bt(`Failed to get task from [${HOTKEY}]. Reason: Unknown.`, { level: 'WARNING' })).fields.reason).toBe('Unknown');
  });

  test('cooldown, miner_stats, worker_started', () => {
    expect(one(bt('Miner is on cooldown for the next: 37 sec. Total cooldown violations: 2')).fields).toEqual({ seconds: 37, violations: 2 });
    expect(one(bt('Miner | UID:226 | Block:6712345 | Stake:1534.2201 | Trust:0.9812 | Incentive:0.004512 | Emission:1.204417', { level: 'INFO' })).fields)
      .toEqual({ uid: 226, block: 6712345, stake: 1534.2201, trust: 0.9812, incentive: 0.004512, emission: 1.204417 });
    expect(one(bt('Worker (http://127.0.0.1:8093) started', { level: 'INFO' }))).toMatchObject({ type: 'worker_started', fields: { endpoint: 'http://127.0.0.1:8093' } });
  });

  test('identity and network lines', () => {
    expect(one(bt('Running neuron on subnet 17 with uid 226 using network: wss://entrypoint-finney.opentensor.ai:443', { level: 'INFO' })).fields)
      .toEqual({ netuid: 17, uid: 226, chain_endpoint: 'wss://entrypoint-finney.opentensor.ai:443' });
    expect(one(bt('Subtensor: Network: finney, Chain: wss://entrypoint-finney.opentensor.ai:443', { level: 'INFO' })).fields)
      .toEqual({ network: 'finney', chain_endpoint: 'wss://entrypoint-finney.opentensor.ai:443' });
    expect(one(bt('Metagraph: metagraph(netuid:17, n:256, block:6712345, network:finney)', { level: 'INFO' })).fields).toEqual({ network: 'finney' });
    expect(one(bt('Connected to test network and wss://test.finney.opentensor.ai:443/.', { level: 'INFO' })).fields)
      .toEqual({ network: 'test', chain_endpoint: 'wss://test.finney.opentensor.ai:443/' });
  });

  test('config and wallet lines are matched, never captured', () => {
    const cfg = one(bt("Starting with config: Config(wallet=Config(name='sn17-cold', hotkey='sn17-hot-01', path='~/.bittensor/wallets/'), netuid=17)", { level: 'INFO' }));
    expect(cfg).toMatchObject({ type: 'miner_started', fields: {}, long: null, set: {}, stackTrace: null });
    const w = one(bt("Wallet: Wallet (Name: 'sn17-cold', Hotkey: 'sn17-hot-01', Path: '~/.bittensor/wallets/')", { level: 'INFO' }));
    expect(w).toMatchObject({ type: 'wallet', fields: {}, long: null, stackTrace: null });
  });

  test('a config line longer than maxPatternBytes still says the miner started', () => {
    const big = "Starting with config: Config(" + 'axon=Config(port=8091), '.repeat(400) + ')';
    expect(big.length).toBeGreaterThan(4096);
    expect(one(bt(big, { level: 'INFO' })).type).toBe('miner_started');
  });
});

describe('upstream worker (loguru, stderr)', () => {
  test('generation and saving times, minutes -> seconds', () => {
    const g = one(loguru(' Generation took: 0.46463333333333334 min'), WORKER);
    expect(g).toMatchObject({ type: 'worker_metrics', set: { 'generation.timing.generation_time': 27.878 } });
    const s = one(loguru(' Saving and encoding took: 0.006666666666666667 min'), WORKER);
    expect(s.set).toEqual({ 'generation.timing.saving_time': 0.4 });
  });

  test('worker rules do not read miner lines, miner rules do not read worker lines', () => {
    expect(parseLines([bt(' Generation took: 0.5 min')]).events).toHaveLength(0);
    expect(parseLines([loguru('Task received. Prompt: x.')], WORKER).events).toHaveLength(0);
  });
});

describe("competition mode: the base miners' generation service (loguru, stderr)", () => {
  const SERVICE = { app: 'generation', role: 'generation', group: 'generation', stream: 'error', file: '/logs/generation-error.log' } as const;
  const at = (where: string) => ({ where: `__main__:${where}` });
  test('a request: received, the model and GC times (raw seconds), completed', () => {
    expect(one(loguru('Task received. Prompt-Image', at('generate_model:135')), SERVICE).type).toBe('service_task_received');
    expect(one(loguru('Model Generation took: 41.23456789 secs.', { ...at('generation_block:121'), level: 'DEBUG' }), SERVICE))
      .toMatchObject({ type: 'service_metrics', set: { 'generation.timing.model_generation_time': 41.23456789 } });
    expect(one(loguru('Garbage Collection took: 0.2071 secs', { ...at('generation_block:126'), level: 'DEBUG' }), SERVICE).set)
      .toEqual({ 'generation.timing.garbage_collection_time': 0.2071 });
    expect(one(loguru('Task completed.', at('generate_model:144')), SERVICE).type).toBe('service_task_completed');
  });

  test('start-up: loading (both base miners), ready, and the two failures', () => {
    expect(one(loguru('Loading Trellis generator model...', at('lifespan:58')), SERVICE).type).toBe('service_starting');
    expect(one(loguru('Loading Trellis 2 generator models ...', at('lifespan:71')), SERVICE).type).toBe('service_starting');
    expect(one(loguru('Warm-up is complete. Server is ready.', at('lifespan:70')), SERVICE).type).toBe('service_ready');
    expect(one(loguru('Exception during model loading: CUDA error', { ...at('lifespan:64'), level: 'ERROR' }), SERVICE).type).toBe('service_failed');
    expect(one(loguru('Exception during warming up the generator: OOM', { ...at('lifespan:74'), level: 'ERROR' }), SERVICE).type).toBe('service_failed');
  });

  test("the old miner's `Task received.` line and the service's are told apart by whose lines they are", () => {
    expect(parseLines([loguru('Task received. Prompt-Image')], WORKER).events).toHaveLength(0);
    expect(parseLines([bt('Task received. Prompt-Image')]).events).toHaveLength(0);
    expect(parseLines([loguru('Task received. Prompt: a cat.')], SERVICE).events).toHaveLength(0);
  });
});

test('every default rule is exercised above', () => {
  // a guard: a new default rule needs a test here
  expect(DEFAULT_RULES.map((r) => r.name).sort()).toEqual(
    [
      'client_error', 'connected', 'cooldown', 'endpoint_timeout', 'endpoint_unreachable', 'feedback', 'feedback_detail',
      'feedback_with_prompt', 'generating', 'generation_completed', 'generation_failed', 'metagraph', 'miner_starting',
      'miner_stats', 'neuron_started', 'no_validators', 'pull_failed', 'querying_owner', 'querying_validator',
      'service_gc_time', 'service_load_failed', 'service_loading', 'service_model_time', 'service_ready',
      'service_task_completed', 'service_task_received', 'service_warmup_failed',
      'submit_failed', 'subtensor_network', 'task_received', 'unexpected_error', 'wallet', 'worker_generation_took',
      'worker_saving_took', 'worker_started',
    ].sort(),
  );
});
