"""A training run's settings: one dataclass the CLI, the Train tab and the benchmarks fill, checked as it is
made (a bad value is a sentence naming the setting as the page calls it). The recipes (recipes.py) are named
sets of its fields."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UserError

OBJECTIVES = ("clm", "mlm", "mlm-nsp")
# what the user called each setting, for messages about bad values
SETTING_NAMES = {
    "n_layer": "Layers",
    "n_head": "Heads",
    "n_embd": "Width",
    "context_length": "Context length",
    "batch_size": "Batch size",
    "grad_accum": "Gradient accumulation",
    "steps": "Steps",
    "log_every": "Log interval",
    "eval_every": "Sample interval",
    "eval_batches": "Evaluation batches",
}


@dataclass
class TrainConfig:
    objective: str = "clm"  # "clm" (GPT-style next token), "mlm" (BERT masked LM) or "mlm-nsp"
    tokenizer: str = "char"  # "char", "bpe", "wordpiece", or a folder / tokenizer.json to reuse
    vocab_size: int = 4096  # for a trained bpe / wordpiece tokenizer
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    context_length: int = 64
    dropout: float = 0.0
    positions: str = "learned"
    nsp_single: float = 0.0  # mlm-nsp: share of pairs that are one sentence a side (short everyday pairs)
    batch_size: int = 32  # rows per micro-batch over all processes (torchrun splits them between ranks)
    grad_accum: int = 1  # micro-batches per optimizer step: the global batch is batch_size × grad_accum rows
    steps: int = 500
    lr: float = 1e-3  # peak learning rate, reached after warm-up
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    warmup_steps: int = 50
    weight_decay: float = 0.1  # on matrices only, as nanoGPT
    beta2: float = 0.95  # AdamW's second-moment decay (nanoGPT: 0.99 for its small char models)
    grad_clip: float = 1.0
    log_every: int = 10  # train-loss events (a host sync each)
    eval_every: int = 100  # validation loss and a text sample
    eval_batches: int = 8
    seed: int = 1337
    # the recipe's ingredients (recipes.py: "classic" is these defaults, "modern" the speedrun's; WHY says why)
    norm: str = "layernorm"  # or "rmsnorm"
    mlp: str = "gelu"  # or "relu2"
    qk_norm: bool = False
    tied_head: bool = True
    logit_softcap: float = 0.0
    optimizer: str = "adamw"  # or "muon" (hidden matrices; AdamW for the rest)
    schedule: str = "cosine"  # or "trapezoid" (warm-up, flat, linear cool-down)

    device: str = "auto"  # "auto", "cpu" or "cuda"
    precision: str = "auto"  # "auto" (bf16 autocast on GPU, fp32 on CPU), "bf16" or "fp32"
    compile: bool = False  # torch.compile the model (GPU worth it; the first steps pay the compile)

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        for name, label in SETTING_NAMES.items():
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise UserError(f"{label} must be a whole number of at least 1, not {value!r}.")
        if self.n_embd % self.n_head:
            raise UserError(
                f"The width ({self.n_embd}) must be divisible by the number of heads ({self.n_head}): "
                "each head gets width ÷ heads dimensions."
            )
        if self.positions == "rotary" and (self.n_embd // self.n_head) % 2:
            raise UserError("Rotary positions turn pairs of dimensions: width ÷ heads must be even.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"The learning rate must be a positive number, not {self.lr!r}.")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, not {self.precision!r}")
        if not 0 <= self.nsp_single <= 1:
            raise UserError(f"The share of one-sentence pairs must be between 0 and 1, not {self.nsp_single!r}.")
        if self.optimizer not in ("adamw", "muon") or self.schedule not in ("cosine", "trapezoid"):
            raise UserError(
                f"Optimizer: adamw or muon; schedule: cosine or trapezoid (not {self.optimizer!r}, {self.schedule!r})."
            )
        if self.logit_softcap < 0:
            raise UserError(f"The logit soft-cap must be 0 (off) or positive, not {self.logit_softcap!r}.")
        if not 0 <= self.dropout < 1:
            raise UserError(f"Dropout is a probability: it must be at least 0 and below 1, not {self.dropout!r}.")
