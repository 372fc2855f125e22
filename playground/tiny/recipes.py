"""Two ways to train the same tiny transformer: the classic recipe (GPT-2 as nanoGPT trains it) and the modern
one (the ideas of the GPT-2 speedrun community since), each ingredient a TrainConfig field so any one can be
switched on or off alone (an ablation), and each with one sentence of why a learner can read.

`optimizers()` builds what the recipe trains with: AdamW alone, or Muon for the blocks' weight matrices with
AdamW for the rest (embeddings, the output layer, gains and biases: Muon's orthogonalised update is for the
hidden matrices only). `lr_at()` gives the schedule's learning rate at a step. `pacing()` gives the settings
that follow from a run's length, the same for the Train tab and the CLI.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import UserError
from .config import TrainConfig

# the fields each recipe sets; everything else (the model's size, the data) stays the learner's
RECIPES: dict[str, dict] = {
    "classic": dict(
        positions="learned",
        norm="layernorm",
        mlp="gelu",
        qk_norm=False,
        tied_head=True,
        logit_softcap=0.0,
        optimizer="adamw",
        schedule="cosine",
        lr=1e-3,
        weight_decay=0.1,
    ),
    "modern": dict(
        positions="rotary",
        norm="rmsnorm",
        mlp="relu2",
        qk_norm=True,
        tied_head=False,
        logit_softcap=15.0,
        optimizer="muon",
        schedule="trapezoid",
        lr=6e-3,
        weight_decay=0.0,
    ),
}

# one sentence of why, per ingredient (the Train tab shows these beside the switches)
WHY = {
    "positions": "Rotary positions turn queries and keys by an angle per position, so attention sees how far apart "
    "two tokens are, not where they sit, and no position table has to be learned.",
    "norm": "RMSNorm only rescales (no mean, no bias): cheaper than LayerNorm and just as stable.",
    "mlp": "ReLU² (ReLU, squared) gives sparser, sharper hidden units than GELU and trains faster at this size.",
    "qk_norm": "QK-norm normalises each head's queries and keys, so attention logits cannot blow up and a higher "
    "learning rate stays stable.",
    "tied_head": "An untied output layer lets the model read words out differently from how it reads them in.",
    "logit_softcap": "Soft-capping squashes the output logits into (-cap, cap), so the model cannot grow "
    "over-confident early.",
    "optimizer": "Muon orthogonalises each weight matrix's update (Newton–Schulz), so every direction learns at the "
    "same pace: fewer steps to the same loss.",
    "schedule": "Warm up, hold the learning rate, then cool down to zero at the end (a trapezoid): most of the loss "
    "drop comes in the cool-down, and the run can stop at any time.",
}
COOLDOWN = 0.4  # the trapezoid's last share of the steps, decayed linearly to zero


def train_config(name: str, **changes: Any) -> TrainConfig:
    """The config of recipe `name` ("classic" or "modern"), with `changes` on top."""
    if name not in RECIPES:
        raise UserError(f"The recipe must be one of {', '.join(RECIPES)}, not {name!r}.")
    return TrainConfig(**(RECIPES[name] | changes))


def pacing(steps: int, samples: int = 5, on_gpu: bool = False) -> dict[str, Any]:
    """The settings that follow from a run's length (TrainConfig fields), for the Train tab and the CLI alike:
    the warm-up, AdamW's beta2, how often the train loss is logged, and `samples` evaluations (each on a few
    batches, with a text sample) spread over the run."""
    return dict(
        warmup_steps=min(50, steps // 10 + 1),
        beta2=0.99,  # nanoGPT's choice for small models, whose batches see few tokens each
        # a loss point per step on CPU (free); on a GPU every 10 steps, each read-back being a sync
        log_every=max(10 if on_gpu else 1, steps // 500),
        eval_every=max(1, math.ceil(steps / samples)),
        eval_batches=4,
    )


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Cosine (classic): linear warm-up to cfg.lr, then cosine down to lr × min_lr_ratio at the last step.
    Trapezoid (modern): warm-up, then flat, then a linear cool-down to zero over the last COOLDOWN of the run."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "trapezoid":
        left = (cfg.steps - step) / max(1.0, COOLDOWN * cfg.steps)
        return cfg.lr * min(1.0, max(left, 0.0))
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(progress, 1.0)))


def _adamw(params: list[torch.nn.Parameter], cfg: TrainConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (weights, embeddings) only, not on biases and gains."""
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=(0.9, cfg.beta2), fused=fused)


def optimizers(model: torch.nn.Module, cfg: TrainConfig, fused: bool) -> list[torch.optim.Optimizer]:
    """What trains the model: [AdamW], or [Muon for the blocks' matrices, AdamW for everything else]."""
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]  # frozen ones stay as they are
    if cfg.optimizer == "adamw":
        return [_adamw([p for _, p in params], cfg, fused)]
    hidden = [p for name, p in params if name.startswith("blocks.") and p.dim() == 2]
    rest = [p for name, p in params if not (name.startswith("blocks.") and p.dim() == 2)]
    # match_rms_adamw scales Muon's update to AdamW's size, so one learning rate (and schedule) serves both
    muon = torch.optim.Muon(hidden, lr=cfg.lr, weight_decay=cfg.weight_decay, adjust_lr_fn="match_rms_adamw")
    return [muon, _adamw(rest, cfg, fused)]
