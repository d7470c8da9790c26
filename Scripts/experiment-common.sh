# experiment-common.sh: what the experiment scripts share — the release fedctl, the synthetic data, SVG to PNG.
# Sourced by experiment.sh and experiment-hlip.sh from the repository root (set -euo pipefail is theirs).

# experiment_prepare OUT DATA SYNTH_ARGS...: the PNG tool, fedctl (release, or FEDCT_EXPERIMENT_CONFIGURATION=debug when a
# release build cannot be afforded; sets bin to its folder), the folder OUT, and `fedctl synth SYNTH_ARGS --seed SEED --out
# DATA` unless DATA holds its data already. SEED is FEDCT_EXPERIMENT_DATA_SEED (default 7): another seed draws another
# cohort (the scripts name DATA after it), to score a choice made on one cohort on patients it was not made on.
experiment_prepare() {
  local out=$1 data=$2 configuration=${FEDCT_EXPERIMENT_CONFIGURATION:-release}
  shift 2
  experiment_png_tool
  echo "== building fedctl ($configuration)"
  swift build -c "$configuration" --product fedctl >/dev/null
  bin=$(swift build -c "$configuration" --show-bin-path)
  mkdir -p "$out"
  [[ -f "$data/ground_truth.csv" ]] && return
  echo "== synthesising into $data: $*"
  "$bin/fedctl" synth "$@" --seed "${FEDCT_EXPERIMENT_DATA_SEED:-7}" --out "$data"
}

# Installs rsvg-convert (Debian's librsvg2-bin) when it is missing and permitted, else says the plots stay SVG.
experiment_png_tool() {
  command -v rsvg-convert >/dev/null && return
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q --no-install-recommends librsvg2-bin >/dev/null || true
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo apt-get install -y -q --no-install-recommends librsvg2-bin >/dev/null || true
  fi
  command -v rsvg-convert >/dev/null || echo "note: no rsvg-convert (apt-get install librsvg2-bin); the plots stay SVG only" >&2
}

# experiment_png PREFIX: PREFIX-forest.png and PREFIX-curves.png from their SVGs, when rsvg-convert is there.
experiment_png() {
  command -v rsvg-convert >/dev/null || return 0
  for plot in forest curves; do rsvg-convert -b white -o "$1-$plot.png" "$1-$plot.svg"; done
  echo "plots: $1-forest.png, $1-curves.png (and .svg)"
}
