#!/usr/bin/env bash
# experiment-medform.sh: MEDFORM's experiment table — stage 1 (SimCLR on slices) then stage 2 (attention-MIL aligned with
# the clinical vector by InfoNCE) on synthetic scans, every arm trained five ways (random init, local-only, FedAvg,
# secure, centralised) over seeds beside a federated TTE encoder, scored on every site's held-out scans by few-shot
# probes (k = 1, 5, 10 per class, 5 draws) on lung cancer within a year and the four chest findings, and DEATH.
#
# Usage: bash Scripts/experiment-medform.sh [OUTPUT_FOLDER]  (default: experiment-medform-results; data are kept and reused)
# Settings (environment, defaults in brackets) — the defaults are the run in Docs/coordinator-guide.md, "The MEDFORM experiment":
#   FEDCT_MEDFORM_PATIENTS   [260,320,220] patients per site (fedctl synth --patients; lung cancer within a year is ~5 %,
#                                          so k = 10 needs ~400 train scans)
#   FEDCT_MEDFORM_HELDOUT    [0.5]         share of each site's patients held out
#   FEDCT_MEDFORM_SEEDS      [2]           training seeds per arm (arms paired by seed)
#   FEDCT_MEDFORM_ROUNDS1    [3]           stage-1 rounds × FEDCT_MEDFORM_EPOCHS1 [1] local epochs (SimCLR: the costly part)
#   FEDCT_MEDFORM_EPOCHS1    [1]
#   FEDCT_MEDFORM_ROUNDS2    [3]           stage-2 rounds × FEDCT_MEDFORM_EPOCHS2 [3] local epochs (cheap: cached features)
#   FEDCT_MEDFORM_EPOCHS2    [3]
#   FEDCT_MEDFORM_WIDTH      [16]          slice ResNet-18 width (torchvision's is 64; F = 8 × width)
#   FEDCT_MEDFORM_SIZE       [32]          voxels per side
#   FEDCT_MEDFORM_BOOTSTRAP  [200]         two-level bootstrap resamples
#   FEDCT_EXPERIMENT_CONFIGURATION [release]  debug: use the debug fedctl (when a release build cannot be afforded)
#   FEDCT_MEDFORM_TTE        [1]           0: leave out the TTE encoder's row
#   FEDCT_MEDFORM_HLIP       [0]           1: add an HLIP encoder's row (experiment-hlip.sh's small model, each scan a one-scan
#                                          study with its report's impression, trained federated per seed for
#                                          FEDCT_MEDFORM_HLIP_ROUNDS [8] rounds × 5 local epochs)
#   FEDCT_MEDFORM_THREADS    [all cores]
#   FEDCT_MEDFORM_ARMS       [all]         arms to train, e.g. "random-init fedavg centralised" (checks needing a left-out arm: N/A)
#   FEDCT_EXPERIMENT_DATA_SEED [7]       the synthetic cohort's seed (another seed: other patients)
# Prints the pooled table, the gains over random init, the two checks on the k = 10 lung-cancer AUROC (federated above
# random init; non-inferior to centralised within 0.03) with their precision lines. Writes experiment-medform.md, .csv,
# -curves.csv, -forest.svg/.png and -curves.svg/.png into the output folder.
# Each finished seed's trained models are kept in OUTPUT_FOLDER/checkpoints (fedctl experiment --checkpoint-dir): run the
# same command again to resume after an interruption, or with more seeds to add seeds to a finished run.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-experiment-medform-results}
patients=${FEDCT_MEDFORM_PATIENTS:-260,320,220}
heldout=${FEDCT_MEDFORM_HELDOUT:-0.5}
seeds=${FEDCT_MEDFORM_SEEDS:-2}
rounds1=${FEDCT_MEDFORM_ROUNDS1:-3}
epochs1=${FEDCT_MEDFORM_EPOCHS1:-1}
rounds2=${FEDCT_MEDFORM_ROUNDS2:-3}
epochs2=${FEDCT_MEDFORM_EPOCHS2:-3}
width=${FEDCT_MEDFORM_WIDTH:-16}
size=${FEDCT_MEDFORM_SIZE:-32}
bootstrap=${FEDCT_MEDFORM_BOOTSTRAP:-200}
threads=${FEDCT_MEDFORM_THREADS:-$(nproc)}
sites=$(awk -F, '{print NF}' <<< "$patients")

source Scripts/experiment-common.sh
data="$out/data-$size-$patients-$heldout${FEDCT_EXPERIMENT_DATA_SEED:+-seed$FEDCT_EXPERIMENT_DATA_SEED}"
experiment_prepare "$out" "$data" --sites "$sites" --patients "$patients" --size "$size" --heldout-fraction "$heldout"

# Stage 1: a slice ResNet-18 of width $width, SimCLR on 8 slices of each of 8 scans per batch (64 slices, 128 views),
# the projection head to 64, τ 0.1; secure aggregation as the demo.
cat > "$out/job-medform.yaml" <<YAML
name: experiment-medform-stage1
objective: medform
rounds: $rounds1
min_sites: $sites
seed: 17
encoder: {architecture: none}
medform: {stage: 1, slice_encoder: resnet18, slice_encoder_width: $width, projection_dim: 64, temperature: 0.1, slices_per_scan: 8}
training: {local_epochs: $epochs1, batch_size: 8, learning_rate: 0.001, weight_decay: 0.000001, volume_size: $size}
secure_aggregation: {enabled: true, clip_norm: 20, max_examples_per_site: 5000}
YAML
# Stage 2: the paper's modules on the frozen stage-1 encoder (features cached per scan), the nine clinical columns the
# generator writes, bags of 16 slices, τ 0.01; contrastive batch 8 × 4 = 32 scans through cached features.
cat > "$out/job-medform-stage2.yaml" <<YAML
name: experiment-medform-stage2
objective: medform
rounds: $rounds2
min_sites: $sites
seed: 19
encoder: {architecture: none}
medform:
  stage: 2
  slice_encoder: resnet18
  slice_encoder_width: $width
  freeze_slice_encoder: true
  clinical_columns: [age, sex, bmi, pack_years, spo2, bnp, d_dimer, fev1_pct, creatinine]
  attention_hidden: 64
  bag_slices: 16
  temperature: 0.01
training: {local_epochs: $epochs2, batch_size: 8, gradient_accumulation: 4, learning_rate: 0.0005, weight_decay: 0.00001, volume_size: $size}
secure_aggregation: {enabled: true, clip_norm: 20, max_examples_per_site: 5000}
YAML
# The TTE experiment's encoder (ResNet-10 width 8, GroupNorm) on fixed tasks, trained for stage 1's rounds.
cat > "$out/job-tte.yaml" <<YAML
name: experiment-medform-tte
rounds: $rounds1
min_sites: $sites
seed: 11
encoder: {architecture: resnet3d, depth: 10, width: 8, stem_stride: 1, norm: group}
tte:
  task_codes: [DEATH, PE, PH, READMISSION]
  piece_edges_days: [30, 90, 182, 365, 730, 1095, 1825, 3650]
  rank: 16
training: {local_epochs: $epochs1, batch_size: 8, learning_rate: 0.003, weight_decay: 0.0001, volume_size: $size}
YAML

# The HLIP experiment's model (ViT 96 × 4 blocks, byte-level text tower 96 × 2, SigLIP) on one-scan studies.
cat > "$out/job-hlip.yaml" <<YAML
name: experiment-medform-hlip
objective: hlip
rounds: ${FEDCT_MEDFORM_HLIP_ROUNDS:-8}
min_sites: $sites
seed: 13
encoder: {architecture: none}
hlip: {dim: 96, depth: 4, heads: 2, patch: [8, 8, 8], scans_per_study: 1, text_width: 96, text_depth: 2, text_heads: 2, context_length: 192, embed_dim: 64, report_sections: [impression]}
training: {local_epochs: 5, batch_size: 8, learning_rate: 0.0003, weight_decay: 0.05, volume_size: $size, lr_schedule: cosine, warmup_steps: 10}
YAML

data_args=()
for index in $(seq 1 "$sites"); do data_args+=(--data "$data/site-$index"); done
arm_args=()
[[ -z "${FEDCT_MEDFORM_ARMS:-}" ]] || read -r -a arm_args <<< "--arms ${FEDCT_MEDFORM_ARMS}"
companion_args=() companion_names=""
[[ "${FEDCT_MEDFORM_TTE:-1}" == 0 ]] || { companion_args+=(--tte-job-spec "$out/job-tte.yaml"); companion_names+=", TTE FedAvg"; }
[[ "${FEDCT_MEDFORM_HLIP:-0}" == 0 ]] || { companion_args+=(--hlip-job-spec "$out/job-hlip.yaml"); companion_names+=", HLIP FedAvg"; }
arm_names=${FEDCT_MEDFORM_ARMS:-random init, local-only ×$sites, FedAvg, secure, centralised}
echo "== experiment: $seeds seeds × ($arm_names$companion_names), stage 1 $rounds1 rounds × $epochs1 epochs, stage 2 $rounds2 × $epochs2; progress in $out/experiment-medform.log"
started=$(date +%s)
"$bin/fedctl" experiment medform --job-spec "$out/job-medform.yaml" --stage2-job-spec "$out/job-medform-stage2.yaml" "${data_args[@]}" \
  --ground-truth "$data/ground_truth.csv" "${companion_args[@]}" "${arm_args[@]}" \
  --seeds "$seeds" --bootstrap "$bootstrap" --threads "$threads" --no-curves --checkpoint-dir "$out/checkpoints" --out "$out/experiment-medform" 2> "$out/experiment-medform.log" | tee "$out/experiment-medform.txt"
echo "== finished in $(( $(date +%s) - started )) s"

experiment_png "$out/experiment-medform"
