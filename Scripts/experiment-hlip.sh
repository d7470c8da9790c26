#!/usr/bin/env bash
# experiment-hlip.sh: HLIP's experiment table — language–image pretraining on multi-series synthetic studies, trained
# five ways (random init, local-only, FedAvg, secure, centralised) over seeds beside a federated TTE encoder, scored on
# every site's held-out studies: zero-shot finding AUROC, linear-probe finding AUROC, report→study recall@1/5, DEATH.
#
# Usage: bash Scripts/experiment-hlip.sh [OUTPUT_FOLDER]    (default: experiment-hlip-results; data are kept and reused)
# Settings (environment, defaults in brackets) — the defaults are the run in Docs/coordinator-guide.md, "The HLIP experiment":
#   FEDCT_HLIP_PATIENTS  [100,140,80]  patients per site (fedctl synth --patients; one study each, 1–3 series)
#   FEDCT_HLIP_HELDOUT   [0.5]         share of each site's patients held out (they cost inference only)
#   FEDCT_HLIP_SEEDS     [2]           training seeds per arm (arms paired by seed)
#   FEDCT_HLIP_ROUNDS    [8]           rounds (× FEDCT_HLIP_EPOCHS local epochs)
#   FEDCT_HLIP_EPOCHS    [5]
#   FEDCT_HLIP_SIZE      [32]          voxels per side
#   FEDCT_HLIP_BOOTSTRAP [500]         two-level bootstrap resamples
#   FEDCT_HLIP_TTE       [1]           0: leave out the TTE encoder's row
#   FEDCT_HLIP_THREADS   [all cores]
#   FEDCT_HLIP_ARMS      [all]         arms to train, e.g. "random-init fedavg centralised" (checks needing a left-out arm: N/A)
#   FEDCT_EXPERIMENT_DATA_SEED [7]     the synthetic cohort's seed (another seed: other patients)
# Prints the pooled table, the gains over random init, the six checks (effusion and nodule/mass: federated above
# chance, above random init, non-inferior to centralised within 0.03) with their precision lines. Writes
# experiment-hlip.md, .csv, -curves.csv, -forest.svg/.png and -curves.svg/.png into the output folder.
# Each finished seed's trained models are kept in OUTPUT_FOLDER/checkpoints (fedctl experiment --checkpoint-dir): run the
# same command again to resume after an interruption, or with more seeds to add seeds to a finished run.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-experiment-hlip-results}
patients=${FEDCT_HLIP_PATIENTS:-100,140,80}
heldout=${FEDCT_HLIP_HELDOUT:-0.5}
seeds=${FEDCT_HLIP_SEEDS:-2}
rounds=${FEDCT_HLIP_ROUNDS:-8}
epochs=${FEDCT_HLIP_EPOCHS:-5}
size=${FEDCT_HLIP_SIZE:-32}
bootstrap=${FEDCT_HLIP_BOOTSTRAP:-500}
threads=${FEDCT_HLIP_THREADS:-$(nproc)}
sites=$(awk -F, '{print NF}' <<< "$patients")

source Scripts/experiment-common.sh
data="$out/data-$size-$patients-$heldout${FEDCT_EXPERIMENT_DATA_SEED:+-seed$FEDCT_EXPERIMENT_DATA_SEED}"
experiment_prepare "$out" "$data" --sites "$sites" --patients "$patients" --size "$size" --heldout-fraction "$heldout" --series-per-study 3

# A small HLIP (ViT 96 × 4 blocks, scan attention with study attention at block 3, studies of two scans; byte-level
# text tower 96 × 2 over 192 tokens of each report's impression; SigLIP) that trains five arms per seed on two cores;
# secure aggregation as the demo. Rounds of several local epochs at AdamW 3e-4 with warm-up: shorter rounds, or whole
# reports for a byte-level tower trained from scratch, stay collapsed on the bias-only loss (Docs/science.md).
cat > "$out/job-hlip.yaml" <<YAML
name: experiment-hlip
objective: hlip
rounds: $rounds
min_sites: $sites
seed: 11
encoder: {architecture: none}
hlip: {dim: 96, depth: 4, heads: 2, patch: [8, 8, 8], scans_per_study: 2, text_width: 96, text_depth: 2, text_heads: 2, context_length: 192, embed_dim: 64, report_sections: [impression]}
training: {local_epochs: $epochs, batch_size: 8, learning_rate: 0.0003, weight_decay: 0.05, volume_size: $size, lr_schedule: cosine, warmup_steps: 10}
secure_aggregation: {enabled: true, clip_norm: 20, max_examples_per_site: 5000}
YAML
# The TTE experiment's encoder (ResNet-10 width 8, GroupNorm) on fixed tasks, trained on each study's first scan.
cat > "$out/job-tte.yaml" <<YAML
name: experiment-hlip-tte
rounds: $rounds
min_sites: $sites
seed: 11
encoder: {architecture: resnet3d, depth: 10, width: 8, stem_stride: 1, norm: group}
tte:
  task_codes: [DEATH, PE, PH, READMISSION]
  piece_edges_days: [30, 90, 182, 365, 730, 1095, 1825, 3650]
  rank: 16
training: {local_epochs: $epochs, batch_size: 8, learning_rate: 0.003, weight_decay: 0.0001, volume_size: $size}
YAML

data_args=()
for index in $(seq 1 "$sites"); do data_args+=(--data "$data/site-$index"); done
arm_args=()
[[ -z "${FEDCT_HLIP_ARMS:-}" ]] || read -r -a arm_args <<< "--arms ${FEDCT_HLIP_ARMS}"
tte_args=()
[[ "${FEDCT_HLIP_TTE:-1}" == 0 ]] || tte_args=(--tte-job-spec "$out/job-tte.yaml")
arm_names=${FEDCT_HLIP_ARMS:-random init, local-only ×$sites, FedAvg, secure, centralised}
echo "== experiment: $seeds seeds × ($arm_names${tte_args:+, TTE FedAvg}), $rounds rounds × $epochs epochs; progress in $out/experiment-hlip.log"
started=$(date +%s)
"$bin/fedctl" experiment hlip --job-spec "$out/job-hlip.yaml" "${data_args[@]}" "${tte_args[@]}" "${arm_args[@]}" \
  --seeds "$seeds" --bootstrap "$bootstrap" --threads "$threads" --no-curves --checkpoint-dir "$out/checkpoints" --out "$out/experiment-hlip" 2> "$out/experiment-hlip.log" | tee "$out/experiment-hlip.txt"
echo "== finished in $(( $(date +%s) - started )) s"

experiment_png "$out/experiment-hlip"
