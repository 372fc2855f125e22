"""What pre-training buys: the default offline fine-tuning task, pre-trained vs from scratch, at equal steps.

    .venv/bin/python bench/finetune_quality.py [--model tiny-english-bert] [--task who-wrote-it]
                                               [--labels 64,256,1024] [--seeds 0,1,2] [--threads 2]

For each number of labelled examples and each seed: one side-by-side run (playground.finetune.run.sweep, the
tab's and the CLI's loop): the bundled pre-trained body and the same architecture from random weights get the
same head initialisation, the same examples, the same batches, learning rate and steps (3 epochs over the
examples, at least 40 steps, batch 16). Reports validation accuracy (400 passages from held-out plays,
chapters and addresses, 100 per author) as mean ± spread over the seeds, and the gap in points.
Goal (#13): with 256 labels the pre-trained bundled BERT is at least 15 points above scratch.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.finetune import models  # noqa: E402
from playground.finetune.run import FineTuneConfig, sweep  # noqa: E402


def machine() -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{name}, nproc {cores}, torch {torch.__version__}, Python {platform.python_version()}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-english-bert")
    p.add_argument("--task", default="who-wrote-it")
    p.add_argument("--labels", default="64,256,1024")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--freeze", action="store_true", help="a linear probe instead of full fine-tuning")
    p.add_argument("--lr", type=float, default=None, help="both models' learning rate (default: fine-tuning's 2e-4)")
    p.add_argument("--epochs", type=float, default=None, help="passes over the labels (default 3, at least 40 steps)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    counts = tuple(int(n) for n in args.labels.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    loaded = models.load_body(args.model)
    task = models.load_task(args.task)
    print(f"machine: {machine()}", flush=True)
    print(
        f"{loaded.name} on {task.name}: {len(task.train):,} training passages, {len(task.val)} validation", flush=True
    )
    results: dict[int, dict[str, list[float]]] = {n: {"pretrained": [], "scratch": []} for n in counts}
    steps: dict[int, int] = {}
    t0 = time.perf_counter()
    for seed in seeds:
        cfg = FineTuneConfig(task=args.task, seed=seed, freeze=args.freeze)
        if args.lr is not None:
            cfg.lr = cfg.probe_lr = args.lr
        if args.epochs is not None:
            cfg.epochs = args.epochs
        for point in sweep(cfg, loaded.model, loaded.tokenizer, task, counts):
            steps[point.labels] = point.steps
            for side, acc in point.accuracy.items():
                results[point.labels][side].append(acc)
            print(
                f"seed {seed} labels {point.labels}: pretrained {point.accuracy['pretrained']:.1%} "
                f"scratch {point.accuracy['scratch']:.1%} ({point.steps} steps, {point.seconds:.0f} s)",
                flush=True,
            )
    print(f"\n{time.perf_counter() - t0:.0f} s in all\n")
    print("| labels | steps | pre-trained | scratch | gap (points) |")
    print("|---|---|---|---|---|")
    for n in counts:
        pre, scr = results[n]["pretrained"], results[n]["scratch"]
        gaps = [100 * (a - b) for a, b in zip(pre, scr)]
        print(
            f"| {n:,} | {steps[n]} | {_mean(pre)} | {_mean(scr)} | "
            f"{statistics.mean(gaps):+.1f} (min {min(gaps):+.1f}) |"
        )
    return 0


def _mean(values: list[float]) -> str:
    spread = (max(values) - min(values)) / 2 if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f}% ± {100 * spread:.1f}"


if __name__ == "__main__":
    sys.exit(main())
