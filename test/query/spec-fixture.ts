/**
 * Records exactly as the spec's example shows them (its README, "generation_history.jsonl"): the six
 * sections with every key of the example, in its order, no `outcome`, no `provenance`; the example's
 * "..." become a few more scalars. What the spec's own Python logger wrote.
 */
import { randomUUID } from 'node:crypto';

export interface SpecRow {
  id?: string;
  timestamp?: string;
  task?: 'IMAGE-TO-3D' | 'TEXT-TO-3D';
  validator?: number;
  submitted?: boolean;
  pre?: boolean;
  rejectionReason?: string | null;
  received?: boolean;
  score?: number | null;
  accepted?: boolean | null;
  failed?: [string, string] | null;
  clip?: number;
  imageHex?: string;
  plyHex?: string | null;
  totalTime?: number;
}

const HEX = (n: number): string => n.toString(16).padStart(64, '0');

// prettier-ignore
export function specRecord(row: SpecRow = {}): Record<string, unknown> {
  const id = row.id ?? randomUUID();
  const image = (row.task ?? 'IMAGE-TO-3D') === 'IMAGE-TO-3D';
  const imageHex = row.imageHex ?? HEX(1);
  const plyHex = row.plyHex === undefined ? HEX(2) : row.plyHex;
  const received = row.received ?? true;
  return {
    metadata: {
      generation_id: id,
      timestamp: row.timestamp ?? '2025-11-12T21:30:45.123Z',
      miner_uid: 226,
      miner_version: 'phase1_phase2_v1.0',
      validator_uid: row.validator ?? 57,
      validator_hotkey: '5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX',
      network: 'mainnet',
    },
    task: {
      task_type: row.task ?? 'IMAGE-TO-3D',
      prompt: image ? `[BASE64_IMAGE_HASH:sha256:${imageHex}]` : 'a red wooden chair',
      prompt_length: image ? 547204 : 18,
      is_base64_image: image,
      base64_image_hash: image ? `sha256:${imageHex}` : null,
      image_file_path: image ? `images/${imageHex}.png` : null,
    },
    miner_config: { trellis_sparse_steps: 45, trellis_slat_steps: 35, gaussian_threshold: 50000, clip_threshold: 0.1, sdxl_steps: 4 },
    generation: {
      enhanced_prompt: 'LLM-enhanced prompt',
      negative_prompt: 'negative prompt (if any)',
      timing: { total_time: row.totalTime ?? 21.45, sdxl_time: 8.62, background_removal_time: 1.58, trellis_time: 12.15, saving_time: 0.04 },
      output: {
        num_gaussians: 398234,
        file_size_mb: 35.3,
        ply_file_path: plyHex === null ? null : `ply_files/${id}_${plyHex}.ply`,
        ply_file_hash: plyHex === null ? null : `sha256:${plyHex}`,
        quality_metrics: { clip_score: row.clip ?? 0.189, clip_threshold_pass: (row.clip ?? 0.189) >= 0.1, clip_model: 'ViT-L/14' },
        gaussian_stats: { opacity_mean: 4.84, opacity_std: 2.11 },
      },
      submission: {
        submitted: row.submitted ?? true,
        submission_time: '2025-11-12T21:31:06Z',
        pre_submission_rejection: row.pre ?? false,
        rejection_reason: row.rejectionReason ?? null,
      },
    },
    validator_feedback: {
      received,
      feedback_time: received ? '2025-11-12T21:32:15Z' : null,
      score: row.score === undefined ? (received ? 0.65 : null) : row.score,
      accepted: row.accepted === undefined ? (received ? true : null) : row.accepted,
      feedback_delay_seconds: received ? 69.2 : null,
    },
    failure_analysis: {
      failed: Boolean(row.failed),
      error_type: row.failed ? row.failed[0] : null,
      error_message: row.failed ? row.failed[1] : null,
      stack_trace: null,
    },
  };
}

/**
 * One spec record per outcome rule (src/schema/spec-record.ts, specOutcome), with the outcome each must
 * get. Text tasks carry no image; only `accepted` ones keep a PLY (the spec keeps accepted PLYs only).
 */
// prettier-ignore
export const SPEC_CASES: { key: string; row: SpecRow; outcome: string }[] = [
  { key: 'accepted', row: { score: 0.65, accepted: true }, outcome: 'accepted' },
  { key: 'accepted-text', row: { task: 'TEXT-TO-3D', score: 0.4, accepted: true, validator: 49 }, outcome: 'accepted' },
  { key: 'accepted-by-score', row: { task: 'TEXT-TO-3D', score: 0.3, accepted: null, validator: 49 }, outcome: 'accepted' },
  { key: 'rejected', row: { score: 0, accepted: false, plyHex: null }, outcome: 'rejected' },
  { key: 'pre-rejected', row: { pre: true, rejectionReason: 'clip_below_threshold', score: 0, accepted: false, clip: 0.08, plyHex: null }, outcome: 'generation_failed' },
  { key: 'failed', row: { failed: ['TimeoutError', 'request to the endpoint timed out'], submitted: false, received: false, plyHex: null }, outcome: 'generation_failed' },
  { key: 'no-feedback', row: { task: 'TEXT-TO-3D', received: false, plyHex: null }, outcome: 'no_feedback' },
  { key: 'submit-failed', row: { submitted: false, received: false, plyHex: null }, outcome: 'submit_failed' },
  { key: 'no-score', row: { task: 'TEXT-TO-3D', score: null, accepted: null, plyHex: null }, outcome: 'validation_failed' },
];
