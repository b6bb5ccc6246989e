"""RBM training throughput: genstudio's RBM engine against scikit-learn's BernoulliRBM.

Same data (the embedded MNIST training split), same shape of work: 500 hidden units, minibatches
of 20, PCD-1, one pass over the 4,500 images per repeat. The two are timed in turns in one run
(these machines are noisy); the median images/s of each is printed, and the median of the
per-repeat ratios.

    python benchmarks/rbm_throughput.py [--repeats 5] [--epochs 1] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import torch

SETTLE_S = 1.0


def time_genstudio(engine, steps: int) -> float:
    if engine.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        engine.train_step()
    if engine.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def time_sklearn(images, epochs: int) -> float:
    from sklearn.neural_network import BernoulliRBM
    rbm = BernoulliRBM(n_components=500, batch_size=20, learning_rate=0.05, n_iter=epochs, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rbm.fit(images)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from engines.core.device import default_threads
    from engines.registry import build_engine
    torch.set_num_threads(default_threads())
    engine = build_engine("rbm", "mnist", args.device, 0,
                          {"hidden": 500, "batch_size": 20, "method": "pcd", "k": 1})
    images = engine.data.train.reshape(len(engine.data.train), -1).astype("float64")
    steps = args.epochs * len(images) // 20
    n_images = steps * 20
    time_genstudio(engine, 20)   # warm-up: allocator, kernels
    ours, theirs = [], []
    for _ in range(args.repeats):
        # The other library's worker threads spin a while after its last call (OpenBLAS, OpenMP):
        # measured here, starting right after scikit-learn cost the RBM ~20%. Let them go idle.
        time.sleep(SETTLE_S)
        ours.append(n_images / time_genstudio(engine, steps))
        time.sleep(SETTLE_S)
        theirs.append(n_images / time_sklearn(images, args.epochs))
    result = {
        "device": str(engine.device),
        "torch_threads": torch.get_num_threads(),
        "images_per_repeat": n_images,
        "genstudio_images_per_s": round(statistics.median(ours), 1),
        "sklearn_images_per_s": round(statistics.median(theirs), 1),
    }
    # each repeat times the two back to back: the median of those paired ratios resists load changes
    result["ratio"] = round(statistics.median(a / b for a, b in zip(ours, theirs)), 2)
    print(f"genstudio RBM ({result['device']}): {result['genstudio_images_per_s']:>10.1f} images/s  "
          f"(runs: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"scikit-learn BernoulliRBM (cpu): {result['sklearn_images_per_s']:>10.1f} images/s  "
          f"(runs: {', '.join(f'{x:.0f}' for x in theirs)})")
    print(f"ratio (median of paired repeats): {result['ratio']}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
