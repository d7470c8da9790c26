#!/usr/bin/env bash
# Runs the main job: federated time-to-event pretraining on loopback — a coordinator and 3 site agents as separate
# processes, mutual TLS, synthetic CT + EHR data, tasks derived by a secure setup stage — then prints the per-round and
# per-site evaluation tables and the experiment table (random init, local-only, federated, centralised, oracle).
# FEDCT_DEMO_OBJECTIVE=hlip runs HLIP instead: language–image pretraining on multi-series studies and their reports,
# evaluated at each site by probes, zero-shot finding AUROC and report→study retrieval.
# FEDCT_DEMO_OBJECTIVE=medform runs MEDFORM's two jobs: SimCLR on axial slices, then a job starting from that model that
# aligns attention-MIL scan embeddings with the sites' clinical data (standardised by a secure setup stage), evaluated
# at each site by the probes and few-shot lung-cancer probes.
set -euo pipefail
cd "$(dirname "$0")/.."

objective=${FEDCT_DEMO_OBJECTIVE:-tte}
[[ "$objective" == tte || "$objective" == hlip || "$objective" == medform ]] || { echo "FEDCT_DEMO_OBJECTIVE must be tte, hlip or medform (got '$objective')" >&2; exit 2; }
sites=${FEDCT_DEMO_SITES:-3}
case "$objective" in hlip) rounds=${FEDCT_DEMO_ROUNDS:-6} ;; medform) rounds=${FEDCT_DEMO_ROUNDS:-3} ;; *) rounds=${FEDCT_DEMO_ROUNDS:-10} ;; esac
patients=${FEDCT_DEMO_PATIENTS:-120,200,80}
size=${FEDCT_DEMO_SIZE:-32}
work=${FEDCT_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fedct-demo.XXXXXX")}
# Secure aggregation is on unless FEDCT_DEMO_SECAGG=0 (then the sites are told to accept unmasked jobs).
if [[ "${FEDCT_DEMO_SECAGG:-1}" == 0 ]]; then secure=false; else secure=true; fi

Scripts/install-deps.sh build
echo "== building (release)"
swift build -c release
bin=$(swift build -c release --show-bin-path)
mkdir -p "$work"/{logs,models,state}
echo "== working in $work"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

site_names=()
for i in $(seq 1 "$sites"); do site_names+=("site-$i"); done

echo "== provisioning a consortium CA and certificates"
"$bin/fedctl" provision --out "$work/pki" --consortium demo $(printf -- '--site %s ' "${site_names[@]}") --admin admin

series=1; [[ "$objective" == hlip ]] && series=3
echo "== generating synthetic data ($patients patients, ${size}³ volumes, up to $series series per study)"
"$bin/fedctl" synth --sites "$sites" --patients "$patients" --size "$size" --seed 7 --series-per-study "$series" --out "$work/data"

cat > "$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $work/coordinator.port
state_dir: $work/state/coordinator
tls:
  ca: $work/pki/coordinator/ca.pem
  cert: $work/pki/coordinator/cert.pem
  key: $work/pki/coordinator/key.pem
YAML
"$bin/fedct-coordinator" --config "$work/coordinator.yaml" > "$work/logs/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$work/coordinator.port" ]] && break; sleep 0.1; done
[[ -s "$work/coordinator.port" ]] || { cat "$work/logs/coordinator.log"; echo "coordinator did not start" >&2; exit 1; }
address="localhost:$(cat "$work/coordinator.port")"
echo "== coordinator listening on $address (mTLS)"

if [[ "$objective" == medform ]]; then
  cat > "$work/job.yaml" <<YAML
name: demo-medform-stage1
objective: medform
rounds: $rounds
min_sites: $sites
seed: 11
round_deadline_seconds: 900
encoder: {architecture: none}
# SimCLR on 16 axial slices per scan (two views each), torchvision's ResNet-18 at half width for CPUs.
medform: {stage: 1, slice_encoder_width: 32, slices_per_scan: 16}
training: {local_epochs: ${FEDCT_DEMO_EPOCHS:-1}, batch_size: 8, learning_rate: ${FEDCT_DEMO_LR:-0.0005}, weight_decay: 0.000001, volume_size: $size}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 1000}
evaluation: {min_cohort: 5}
YAML
elif [[ "$objective" == hlip ]]; then
  cat > "$work/job.yaml" <<YAML
name: demo-hlip
objective: hlip
rounds: $rounds
min_sites: $sites
seed: 11
round_deadline_seconds: 900
encoder: {architecture: none}
# The default small towers (ViT 192 × 6 blocks, byte-level text 192 × 4 over each report's impression), studies of two
# scans: scan attention with study attention every third block; SigLIP. Rounds of several local epochs (tens of steps
# after the warm-up): shorter ones stay collapsed on the bias-only loss (Docs/science.md, "Training HLIP at a site").
hlip: {scans_per_study: 2, patch: [8, 8, 8], context_length: 256, report_sections: [impression]}
training: {local_epochs: ${FEDCT_DEMO_EPOCHS:-4}, batch_size: 8, learning_rate: ${FEDCT_DEMO_LR:-0.0003}, weight_decay: 0.05, volume_size: $size, lr_schedule: cosine, warmup_steps: 10}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 1000}
evaluation: {min_cohort: 5}
YAML
else
  cat > "$work/job.yaml" <<YAML
name: demo-tte
rounds: $rounds
min_sites: $sites
seed: 11
round_deadline_seconds: 900
encoder: {architecture: resnet3d, depth: 10, width: 8, stem_stride: 1, norm: group}
tte:
  derive_tasks: true
  max_tasks: ${FEDCT_DEMO_TASKS:-8192}
  pieces: 8
  min_patients_per_code: 10
  rank: 16
training: {local_epochs: ${FEDCT_DEMO_EPOCHS:-3}, batch_size: 8, learning_rate: ${FEDCT_DEMO_LR:-0.003}, weight_decay: 0.0001, volume_size: $size}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 1000}
# Per-site probes after the last round; the smallest demo site holds out 20 patients, so the floor is 5 here (default 10).
evaluation: {min_cohort: 5}
YAML
fi
admin=(--coordinator "$address" --credentials "$work/pki/admin")
job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job.yaml")
echo "== submitted $job"

threads=$(( $(nproc) / sites )); (( threads >= 1 )) || threads=1
start_sites() {  # each agent runs one job, then exits
  for name in "${site_names[@]}"; do
    "$bin/fedct-site" --config "$work/$name.yaml" --exit-after-job >> "$work/logs/$name.log" 2>&1 &
    pids+=($!)
  done
}
for name in "${site_names[@]}"; do
  cat > "$work/$name.yaml" <<YAML
coordinator:
  address: $address
tls:
  ca: $work/pki/$name/ca.pem
  cert: $work/pki/$name/cert.pem
  key: $work/pki/$name/key.pem
data:
  dir: $work/data/$name
threads: $threads
state_dir: $work/state/$name
privacy: {require_secure_aggregation: $secure}
YAML
done
start_sites
echo "== started ${#site_names[@]} site agents; following the job"

"$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 1800
if [[ "$objective" == medform ]]; then
  stage1=$("$bin/fedctl" model fetch "${admin[@]}" --job "$job" --out "$work/models/stage1.safetensors" --json | sed -n 's/.*"model_sha256" *: *"\([0-9a-f]*\)".*/\1/p')
  cat > "$work/job-stage2.yaml" <<YAML
name: demo-medform-stage2
objective: medform
rounds: $rounds
min_sites: $sites
seed: 13
round_deadline_seconds: 900
encoder: {architecture: none}
# Starts from $job's model (its slice encoder frozen); bags of 16 slices pooled by gated attention-MIL, aligned by
# InfoNCE (τ 0.01) with each scan's clinical row, standardised by the consortium means and SDs of a secure setup stage.
medform:
  stage: 2
  stage1_job: $job
  stage1_model_sha256: $stage1
  slice_encoder_width: 32
  clinical_columns: [age, sex, bmi, pack_years, spo2, bnp, d_dimer, fev1_pct, creatinine]
  bag_slices: 16
training: {local_epochs: ${FEDCT_DEMO_EPOCHS:-1}, batch_size: 8, gradient_accumulation: 2, learning_rate: ${FEDCT_DEMO_LR:-0.0005}, weight_decay: 0.00001, volume_size: $size}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 1000}
evaluation: {min_cohort: 5}
YAML
  job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job-stage2.yaml")
  echo "== stage 1 done; submitted $job (stage 2, from model $stage1)"
  start_sites
  "$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 1800
fi
"$bin/fedctl" model fetch "${admin[@]}" --job "$job" --out "$work/models/federated.safetensors" >/dev/null

# The stored spec holds the tasks, pieces and base rates the setup stage derived.
"$bin/fedctl" job status "${admin[@]}" "$job" --json > "$work/job-derived.json"

[[ -n "${FEDCT_DEMO_SKIP_EXPERIMENT:-}" ]] && { echo "logs, models, ledgers and data: $work"; exit 0; }
if [[ "$objective" == medform ]]; then
  echo "(the per-site evaluation above holds the probes and the few-shot lung-cancer probes of the stage-2 model; MEDFORM's"
  echo " experiment table is not built yet)"
  echo "logs, models, ledgers and data: $work"
  exit 0
fi
if [[ "$objective" == hlip ]]; then
  echo "(the per-site evaluation above holds the probes, zero-shot finding AUROC and report→study recall of this job's"
  echo " model; HLIP's experiment table — random init, local-only, FedAvg, secure, centralised over seeds beside a TTE"
  echo " encoder, with the checks — is \`bash Scripts/experiment-hlip.sh\`, see Docs/coordinator-guide.md)"
  echo "logs, models, ledgers and data: $work"
  exit 0
fi
echo
echo "== experiment table: the same encoder trained five ways on the same data, beside this job's model (a few minutes)"
data_args=()
for name in "${site_names[@]}"; do data_args+=(--data "$work/data/$name"); done
"$bin/fedctl" experiment tte --job-spec "$work/job-derived.json" "${data_args[@]}" \
  --ground-truth "$work/data/ground_truth.csv" \
  --model "demo job (gRPC, secure)=$work/models/federated.safetensors" \
  --seeds "${FEDCT_DEMO_SEEDS:-1}" --bootstrap "${FEDCT_DEMO_BOOTSTRAP:-1000}" --out "$work/experiment" 2> "$work/logs/experiment.log"
echo "(one seed and $(( ${#site_names[@]} )) small sites: too few to decide the checks; bash Scripts/experiment.sh runs the decisive configuration)"
echo
echo "logs, models, ledgers, data and the experiment table ($work/experiment.md, .csv): $work"
