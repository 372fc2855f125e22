"""The classic recipe (nanoGPT's) against the modern one (the speedrun's ingredients), on nanoGPT's CPU shape,
side by side in one process: steps, training seconds and tokens/s to a validation loss of 1.88.

    .venv/bin/python bench/recipe_race.py [--seeds 3] [--target 1.88]

Shape (nanoGPT's README, CPU): 4 layers × 4 heads × 128 wide, context 64, batch 12, characters of
tinyshakespeare, no dropout. Classic: AdamW lr 1e-3, 100 warm-up steps, cosine to 1e-4 over 2,000 steps (nanoGPT's
command). Modern: recipes.RECIPES["modern"] over `--modern-steps` steps. Both evaluate every 50 steps on the same
20 validation batches; training seconds leave evaluation out. The two recipes alternate seed by seed, so a
machine that slows down slows both. Goal: the modern recipe reaches the target in at most 1/3 of the classic time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.tiny import data, recipes  # noqa: E402
from playground.tiny.config import TrainConfig  # noqa: E402
from playground.tiny.train import Trainer  # noqa: E402

SHAPE = dict(
    n_layer=4, n_head=4, n_embd=128, context_length=64, batch_size=12, dropout=0.0, tokenizer="char",
    log_every=50, eval_every=50, eval_batches=20,
)  # fmt: skip


def race(cfg: TrainConfig, text: str, target: float) -> dict:
    """Train until the validation loss first reaches `target` (or the run ends); what it took."""
    run = Trainer(cfg, text)
    for event in run.advance():
        if event.val_loss is not None and event.val_loss <= target:
            break
    seconds = run.elapsed - run.eval_seconds
    val = next(e.val_loss for e in reversed(run.history) if e.val_loss is not None)
    return dict(steps=run.step, seconds=seconds, tokens_per_s=run.tokens / seconds, val=val, hit=val <= target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", type=float, default=1.88)
    parser.add_argument("--modern-steps", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(2)
    text = data.load_corpus("tinyshakespeare")
    configs = {
        "classic": recipes.train_config("classic", steps=2000, warmup_steps=100, **SHAPE),
        "modern": recipes.train_config("modern", steps=args.modern_steps, warmup_steps=50, **SHAPE),
    }
    results: dict[str, list[dict]] = {name: [] for name in configs}
    print(f"{'recipe':<9}{'seed':>5}{'steps':>7}{'train s':>9}{'tokens/s':>10}{'val':>8}")
    for seed in range(args.seeds):
        for name, cfg in configs.items():
            r = race(TrainConfig(**{**vars(cfg), "seed": 1337 + seed}), text, args.target)
            results[name].append(r)
            flag = "" if r["hit"] else f"  (did not reach {args.target})"
            print(
                f"{name:<9}{seed:>5}{r['steps']:>7}{r['seconds']:>9.1f}{r['tokens_per_s']:>10,.0f}{r['val']:>8.4f}{flag}",
                flush=True,
            )
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("steps", "seconds", "tokens_per_s")}
        for name, rs in results.items()
    }
    ratio = med["modern"]["seconds"] / med["classic"]["seconds"]
    print(
        f"\nmedian over {args.seeds} seeds: classic {med['classic']['steps']:.0f} steps / {med['classic']['seconds']:.1f} s, "
        f"modern {med['modern']['steps']:.0f} steps / {med['modern']['seconds']:.1f} s: the modern recipe takes "
        f"{ratio:.2f}x the classic wall time to val <= {args.target} (goal <= 0.33x); tokens/s "
        f"{med['modern']['tokens_per_s']:,.0f} vs {med['classic']['tokens_per_s']:,.0f}"
    )


if __name__ == "__main__":
    main()
