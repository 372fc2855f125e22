"""Loss against training compute: the learner's runs beside published reference points, and a fitted power law.

Training compute is FLOPs = tokens x flops_per_token (nanoGPT's 6N + 12·L·H·Q·T, the formula bench/train_speed.py
reports MFU with). Loss per token depends on the tokenizer and the task, so points are grouped: only runs on the
same corpus, objective and tokenizer share a group (and a fit). On the same corpus, bits per character compare
runs whatever their tokenizer: loss per token / characters per token / ln 2.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import data
from .config import TrainConfig
from .train import count_parameters, flops_per_token

MIN_FIT = 3  # points (of distinct compute) before a power law is fitted


@dataclass
class Point:
    label: str
    flops: float
    loss: float  # validation cross-entropy per token (nats)
    group: str  # corpus · objective · tokenizer: the points a loss can be compared with
    corpus: str  # the corpus alone: the points bits per character can be compared with
    chars_per_token: float | None = None  # of the validation text; None when unknown
    source: str = ""  # where a reference point comes from
    curve: list[tuple[float, float]] = field(default_factory=list)  # (FLOPs, validation loss) along the run
    only_bits: bool = False  # measured in bits per character only (a real model with its own tokenizer)
    mine: bool = False  # one of the learner's runs: only those are fitted (the others differ in data and recipe)

    @property
    def bits_per_char(self) -> float | None:
        return None if self.chars_per_token is None else self.loss / self.chars_per_token / math.log(2)


def training_flops(cfg: TrainConfig, parameters: int, tokens: int) -> float:
    """The FLOPs a run spent: tokens x (6N + 12·L·H·Q·T), as the benchmark counts them."""
    return tokens * flops_per_token(cfg, parameters)


def tokens_of(cfg: TrainConfig, steps: int) -> int:
    """Tokens a run of `steps` steps reads (every position of every row, as Trainer counts them)."""
    return steps * cfg.batch_size * cfg.grad_accum * cfg.context_length


@functools.cache
def corpus_key(name: str) -> str:
    """A bundled corpus's identity: the hash of its text, as a run records it."""
    return hashlib.sha256(data.load_corpus(name).encode()).hexdigest()


def group_of(corpus_sha: str, cfg: TrainConfig, vocab_size: int) -> str:
    names = {corpus_key(name): name for name in ("tinyshakespeare", "general-english")}
    corpus = names.get(corpus_sha, f"text {corpus_sha[:8]}")
    tokenizer = cfg.tokenizer if cfg.tokenizer in data.TOKENIZER_KINDS else Path(cfg.tokenizer).name
    kind = "characters" if tokenizer == "char" else f"{tokenizer} {vocab_size:,}"
    task = {"clm": "next token", "mlm": "masked LM", "mlm-nsp": "masked LM + NSP"}[cfg.objective]
    return f"{corpus} · {task} · {kind}"


def run_point(label: str, meta: dict, parameters: int, vocab_size: int) -> Point | None:
    """A saved run's point from its checkpoint's meta (None when it lacks what is needed, e.g. an old upload)."""
    cfg_dict, loss = meta.get("train_config"), meta.get("final_val_loss")
    if not cfg_dict or loss is None or not meta.get("text_sha256"):
        return None
    cfg = TrainConfig(**{k: v for k, v in cfg_dict.items() if k in TrainConfig.__dataclass_fields__})
    step = int(meta.get("step") or cfg.steps)
    tokens = int(meta.get("tokens") or tokens_of(cfg, step))
    per_token = flops_per_token(cfg, parameters)
    curve = [(c["step"] / max(step, 1) * tokens * per_token, c["val_loss"]) for c in meta.get("val_curve", [])]
    sha = meta["text_sha256"]
    return Point(
        label,
        tokens * per_token,
        float(loss),
        group_of(sha, cfg, vocab_size),
        sha,
        meta.get("chars_per_token"),
        curve=curve,
    )


@functools.cache
def bundled_point(folder: Path) -> Point | None:
    """A bundled model's point, from its card (meta): its corpus, config and final validation loss; characters
    per token measured once on that corpus's validation split with the model's own tokenizer."""
    from .checkpoint import load_checkpoint

    model, tokenizer, meta = load_checkpoint(folder)
    corpus = str(meta.get("corpus", "")).split(" ")[0]
    if corpus not in ("tinyshakespeare", "general-english"):
        return None
    val = data.split_train_val(data.load_corpus(corpus))[1]
    chars_per_token = len(val) / len(data.encode_corpus(tokenizer, val))
    meta = meta | {"text_sha256": corpus_key(corpus), "chars_per_token": chars_per_token}
    return run_point(f"{folder.name} (bundled)", meta, model.num_parameters(), len(tokenizer))


def references() -> list[Point]:
    """Published points on tinyshakespeare at the character level (loss per character = per token)."""
    shakespeare = corpus_key("tinyshakespeare")
    group = "tinyshakespeare · next token · characters"
    out = []
    for label, cfg, loss, source in (
        (
            "nanoGPT baby GPT",
            TrainConfig(n_layer=6, n_head=6, n_embd=384, context_length=256, batch_size=64, steps=5000),
            1.4697,
            "nanoGPT README: config/train_shakespeare_char.py, val 1.4697 after about 3 min on one A100",
        ),
        (
            "nanoGPT on a CPU",
            TrainConfig(n_layer=4, n_head=4, n_embd=128, context_length=64, batch_size=12, steps=2000),
            1.88,
            "nanoGPT README: the same config with its CPU overrides, val 1.88",
        ),
    ):
        parameters = count_parameters(cfg, 65)  # tinyshakespeare's 65 characters
        flops = training_flops(cfg, parameters, tokens_of(cfg, cfg.steps))
        out.append(Point(label, flops, loss, group, shakespeare, 1.0, source))
    return out + measured_references()


@functools.cache
def measured_references() -> list[Point]:
    """Real pretrained models, their bits per character on tinyshakespeare's validation split measured by
    bench/compute_references.py (stored as loss per character: chars_per_token 1), compute from their cards."""
    path = Path(__file__).resolve().parent.parent / "assets" / "compute_references.json"
    rows = json.loads(path.read_text()) if path.is_file() else []
    group = "tinyshakespeare · next token · their own tokenizers"
    return [
        Point(
            r["label"],
            float(r["flops"]),
            float(r["bits_per_char"]) * math.log(2),
            group,
            corpus_key("tinyshakespeare"),
            1.0,
            r["source"],
            only_bits=True,
        )
        for r in rows
    ]


def fit_power_law(points: list[Point], bits: bool = False) -> tuple[float, float] | None:
    """(a, b) of loss = a·C^(-b) by least squares in log-log space; None with fewer than MIN_FIT distinct C."""
    values = [(p.flops, p.bits_per_char if bits else p.loss) for p in points]
    pairs = [(c, y) for c, y in values if y is not None and c > 0 and y > 0]
    if len({c for c, _ in pairs}) < MIN_FIT:
        return None
    xs = [math.log(c) for c, _ in pairs]
    ys = [math.log(y) for _, y in pairs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - slope * mx), -slope
