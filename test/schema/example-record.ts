/**
 * The spec's example record (seed-data-collection-readme.md) with its placeholders made concrete and our
 * additions filled in, in the spec's key order.
 * The id is generationId({ minerApp: 'miner-sn17-mainnet', headerTime: '2025-11-12 21:30:45.123', logId, occurrence: 0 }). data/README.md shows the same record as one line.
 */
import type { GenerationRecord } from '../../src/schema';

export function exampleRecord(): GenerationRecord {
  return {
    metadata: {
      generation_id: '10f23ef3-7c4e-5a45-afba-950be10ec238',
      timestamp: '2025-11-12T21:30:45.123Z',
      miner_uid: 226,
      miner_version: 'phase1_phase2_v1.0',
      validator_uid: 57,
      validator_hotkey: null,
      network: 'mainnet',
      host: 'gpu-box-1',
      miner_app: 'miner-sn17-mainnet',
    },
    task: {
      task_type: 'IMAGE-TO-3D',
      prompt: '[BASE64_IMAGE_HASH:sha256:6105d6cc76af400325e94d588ce511be5bfdbb73b437dc51eca43917d7a43e3d]',
      prompt_length: 547204,
      is_base64_image: true,
      base64_image_hash: 'sha256:6105d6cc76af400325e94d588ce511be5bfdbb73b437dc51eca43917d7a43e3d',
      image_file_path: 'images/6105d6cc76af400325e94d588ce511be5bfdbb73b437dc51eca43917d7a43e3d.png',
      log_id: 'image:9fbb8412cdc93b8c5919da05fe115ab04af1b15acc0e14c91d025b249a88f268',
    },
    miner_config: {
      trellis_sparse_steps: 45,
      trellis_slat_steps: 35,
      gaussian_threshold: 50000,
      clip_threshold: 0.1,
      sdxl_steps: 4,
    },
    generation: {
      enhanced_prompt: 'a red wooden chair, studio lighting, 3d render, white background',
      negative_prompt: 'blurry, low quality, multiple objects',
      timing: {
        total_time: 21.45,
        sdxl_time: 8.62,
        background_removal_time: 1.58,
        trellis_time: 12.15,
        saving_time: 0.04,
      },
      output: {
        num_gaussians: 398234,
        file_size_mb: 35.3,
        ply_file_path:
          'ply_files/10f23ef3-7c4e-5a45-afba-950be10ec238_c7a41639644b3cdd057856ffae3cfc5b59c968f658c73a027d9d1a3571b3c344.ply',
        ply_file_hash: 'sha256:c7a41639644b3cdd057856ffae3cfc5b59c968f658c73a027d9d1a3571b3c344',
        quality_metrics: { clip_score: 0.189, clip_threshold_pass: true, clip_model: 'ViT-L/14' },
        gaussian_stats: { opacity_mean: 4.84, opacity_std: 2.11, scale_mean: -5.02 },
        file_size_bytes: 37015142,
        ply_error: null,
      },
      submission: {
        submitted: true,
        submission_time: '2025-11-12T21:31:06.000Z',
        pre_submission_rejection: false,
        rejection_reason: null,
      },
    },
    validator_feedback: {
      received: true,
      feedback_time: '2025-11-12T21:32:15.200Z',
      score: 0.65,
      accepted: true,
      feedback_delay_seconds: 69.2,
      average_score: 0.58,
      duel_rating: 1512.4,
      accepted_recent: 37,
      accepted_window_hours: 4,
      reward: 0.61,
    },
    failure_analysis: { failed: false, error_type: null, error_message: null, stack_trace: null },
    competition: null,
    outcome: 'accepted',
    provenance: {
      schema_version: 2,
      collector_version: '0.1.0',
      revision: 0,
      supersedes: [],
      sources: [
        { event: 'task_received', file: '/home/miner/.pm2/logs/miner-sn17-mainnet-out.log', offset: 1048576 },
        { event: 'generation_completed', file: '/home/miner/.pm2/logs/miner-sn17-mainnet-out.log', offset: 1600312 },
        { event: 'feedback', file: '/home/miner/.pm2/logs/miner-sn17-mainnet-out.log', offset: 1601002 },
      ],
      links: [
        { event: 'generation_completed', link: 'inferred', candidates: 1 },
        { event: 'feedback', link: 'exact', candidates: 1 },
      ],
      incomplete: false,
      incomplete_reasons: [],
      blobs_skipped: [],
    },
  };
}
