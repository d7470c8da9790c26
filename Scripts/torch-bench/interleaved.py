"""The paired measurement of bench-torch.sh and bench-medform.sh: the bridge's training step (through its C ABI, loaded from
LIBRARY: bridge_bench.c or medform_bench.c) and the same model's step in PyTorch eager (MODEL: `tte`, tte_resnet18.py's
ResNet-18 at batch 1, or `medform-stage1`, medform_step.py's SimCLR step on 4 scans), both in this one process and its one
libtorch, taken in turn step by step.
The bridge's steps run on a thread of their own, as a site trains on its training executor's thread, the eager steps on
the main thread, as a Python script runs them; with BENCH_BRIDGE_THREAD=main the bridge's run on the main thread too
(as `fedctl bench-*` runs them), to tell the thread's part from the rest.

Whatever slows the machine for a while slows both sides alike, so each pair's ratio (eager seconds / bridge seconds; >= 1:
the bridge is at least as fast) is free of the drift that separate runs suffer. The order inside a pair alternates.
Prints one line: bridge and eager volumes/s (medians), the median pair ratio and its 95 % bootstrap interval.
Usage: interleaved.py LIBRARY MODEL SIZE THREADS WARMUP PAIRS
"""
import concurrent.futures, ctypes, os, random, statistics, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

library, model_name, (size, threads, warmup, pairs) = sys.argv[1], sys.argv[2], (int(v) for v in sys.argv[3:7])
if model_name == "tte":
    from tte_resnet18 import training_step  # noqa: E402
    volumes_per_step, eager_model = 1, lambda: training_step(size)
elif model_name == "medform-stage1":
    from medform_step import training_step  # noqa: E402
    volumes_per_step, eager_model = 4, lambda: training_step(1, size, 4)
else:
    sys.exit(f"unknown MODEL {model_name!r}: tte or medform-stage1")
torch.set_num_threads(threads)
bridge = ctypes.CDLL(library)
bridge_thread = None if os.environ.get("BENCH_BRIDGE_THREAD") == "main" else concurrent.futures.ThreadPoolExecutor(max_workers=1)


def on_bridge_thread(function, *arguments):
    return function(*arguments) if bridge_thread is None else bridge_thread.submit(function, *arguments).result()


if on_bridge_thread(bridge.fct_bench_setup, size, threads) != 0:
    sys.exit("the bridge's model could not be built (message above)")
loss = ctypes.c_float()


def bridge_step():
    if on_bridge_thread(bridge.fct_bench_step, ctypes.byref(loss)) != 0:
        sys.exit("the bridge's training step failed (message above)")


_, eager_step = eager_model()


def timed(step):
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


for _ in range(warmup):
    bridge_step()
    eager_step()
bridge_seconds, eager_seconds = [], []
for index in range(pairs):
    if index % 2 == 0:
        bridge_seconds.append(timed(bridge_step))
        eager_seconds.append(timed(eager_step))
    else:
        eager_seconds.append(timed(eager_step))
        bridge_seconds.append(timed(bridge_step))
ratios = [e / b for b, e in zip(bridge_seconds, eager_seconds)]
draw = random.Random(1)
resampled = sorted(statistics.median(draw.choices(ratios, k=len(ratios))) for _ in range(2000))
low, high = resampled[int(0.025 * len(resampled))], resampled[int(0.975 * len(resampled)) - 1]
print(f"bridge {volumes_per_step / statistics.median(bridge_seconds):.4f} eager {volumes_per_step / statistics.median(eager_seconds):.4f} "
      f"ratio {statistics.median(ratios):.3f} low {low:.3f} high {high:.3f} pairs {pairs} "
      f"pairs_bridge_faster {sum(r >= 1 for r in ratios)}")
