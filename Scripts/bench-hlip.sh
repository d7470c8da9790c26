#!/usr/bin/env bash
# HLIP training-step benchmark: studies/s of full train steps (image tower dim 192 × 6 blocks with slice/scan attention,
# patch 8³; byte-level text tower 192 × 4 blocks over 256 tokens; SigLIP loss; AdamW) at batch 4 studies of one 64³ scan,
# through FedCT's libtorch bridge (release fedctl bench-hlip) beside the same model, inputs, optimiser and thread count in
# Python PyTorch eager (Debian python3-torch, the same libtorch 1.13; the image tower is Tests/Reference/hlip_reference.py's),
# in the same run; median of N steps after warm-up, as a ratio. The sides alternate BENCH_ROUNDS times (default 2) and each
# keeps its best median, so load from other processes biases neither. Goal: the bridge no slower than Python (ratio >= 1).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-$(nproc)}
size=${BENCH_SIZE:-64}
batch=${BENCH_BATCH:-4}
warmup=${BENCH_WARMUP:-2}
steps=${BENCH_STEPS:-5}
rounds=${BENCH_ROUNDS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-hlip.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -c "import torch" 2>/dev/null || { echo "needs PyTorch for $python: sudo apt-get install -y python3-torch" >&2; exit 1; }
bash Scripts/install-deps.sh >/dev/null
swift build -c release --product fedctl >/dev/null
bin=$(swift build -c release --show-bin-path)

cat > "$work/python_step.py" <<'PY'
import math, statistics, sys, time
import torch
from torch import nn

sys.path.insert(0, sys.argv[6])
from hlip_reference import Block, HierarchicalViT

size, batch, threads, warmup, steps = (int(v) for v in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(1)
PAD, CLS, END, CONTEXT = 256, 257, 258, 256

class TextTower(nn.Module):
    """The bridge's text tower: byte tokens + learned positions, pre-norm blocks with padding masked, CLS pooling."""
    def __init__(self, width=192, depth=4, heads=3, embed_dim=128):
        super().__init__()
        self.token_embedding = nn.Embedding(259, width)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, width) * 0.01)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.proj = nn.Linear(width, embed_dim, bias=False)
    def forward(self, tokens):
        keep = tokens != PAD
        keep[:, 0] = True
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x, keep)
        return self.proj(self.norm(x)[:, 0])

class HLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = HierarchicalViT(192, 3, [8, 8, 8], ["slice", "slice", "scan", "slice", "slice", "scan"], 128)
        self.text = TextTower()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.logit_bias = nn.Parameter(torch.tensor(-10.0))
    def loss(self, volumes, tokens):
        image = nn.functional.normalize(self.visual(volumes), dim=1)
        text = nn.functional.normalize(self.text(tokens), dim=1)
        logits = self.logit_scale.exp() * image @ text.t() + self.logit_bias
        signs = 2 * torch.eye(len(image)) - 1
        return -nn.functional.logsigmoid(signs * logits).sum() / len(image)

def encode(text):
    data = list(text.encode())[: CONTEXT - 2]
    return [CLS] + data + [END] + [PAD] * (CONTEXT - 2 - len(data))

model = HLIP().train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
count = batch * size ** 3
volumes = torch.sin(0.001 * torch.arange(count, dtype=torch.float64)).float().reshape(batch, 1, 1, size, size, size)
tokens = torch.tensor([encode(f"finding {k} " * 40) for k in range(batch)])
seconds = []
for step in range(warmup + steps):
    start = time.perf_counter()
    optimizer.zero_grad()
    model.loss(volumes, tokens).backward()
    optimizer.step()
    if step >= warmup:
        seconds.append(time.perf_counter() - start)
median = statistics.median(seconds)
print(f"median_step_seconds {median:.4f} studies_per_second {batch / median:.4f} parameters {sum(p.numel() for p in model.parameters())} torch {torch.__version__}")
PY

# The line with the higher studies/s (field 4) of two result lines.
best() { if [ -z "$1" ] || awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(y[4] > x[4]) }'; then echo "$2"; else echo "$1"; fi; }

echo "== HLIP (ViT 192 × 6, patch 8³, text 192 × 4 × 256 tokens, SigLIP), batch $batch studies of one ${size}³ scan, AdamW, $threads threads, median of $steps after $warmup warm-up steps, best of $rounds alternating runs"
swift_line="" python_line=""
for _ in $(seq "$rounds"); do
  swift_line=$(best "$swift_line" "$("$bin/fedctl" bench-hlip --size "$size" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$steps")")
  python_line=$(best "$python_line" "$("$python" "$work/python_step.py" "$size" "$batch" "$threads" "$warmup" "$steps" "$PWD/Tests/Reference")")
done
swift_rate=$(echo "$swift_line" | awk '{print $4}')
python_rate=$(echo "$python_line" | awk '{print $4}')
printf "%-28s %-28s %s\n" "FedCT bridge (studies/s)" "PyTorch eager (studies/s)" "ratio bridge/python"
printf "%-28s %-28s %s\n" "$swift_rate" "$python_rate" "$(awk -v a="$swift_rate" -v b="$python_rate" 'BEGIN { printf "%.2f", a / b }')"
echo "   bridge: $swift_line"
echo "   python: $python_line"
