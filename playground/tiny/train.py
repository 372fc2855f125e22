"""One training loop for the UI, the CLI and the benchmarks.

`train(cfg, text)` is a generator of `Progress` events; whoever consumes it decides what to show.
The last event has `done=True` and carries the trained model and its tokenizer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast

from ..devices import pick_device
from . import data
from .model import TinyConfig, TinyTransformer

OBJECTIVES = ("clm", "mlm", "mlm-nsp")


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
    batch_size: int = 32
    steps: int = 500
    lr: float = 1e-3  # peak learning rate, reached after warm-up
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    warmup_steps: int = 50
    weight_decay: float = 0.1  # on matrices only, as nanoGPT
    grad_clip: float = 1.0
    log_every: int = 10  # train-loss events (a host sync each)
    eval_every: int = 100  # validation loss and a text sample
    eval_batches: int = 8
    seed: int = 1337
    device: str = "auto"  # "auto", "cpu" or "cuda"
    compile: bool = False  # torch.compile the model (GPU worth it; the first steps pay the compile)

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        for name in ("n_layer", "n_head", "n_embd", "context_length", "batch_size", "steps"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be a positive whole number")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError("the learning rate must be a positive number")


@dataclass
class Progress:
    step: int
    steps: int
    train_loss: float | None = None
    val_loss: float | None = None
    metrics: dict = field(default_factory=dict)  # e.g. masked-token accuracy, NSP accuracy
    tokens_per_s: float = 0.0
    elapsed: float = 0.0  # seconds of training so far
    lr: float = 0.0
    sample: str | None = None  # generated text (causal) or a fill-mask probe (masked)
    done: bool = False
    stopped: bool = False  # True when a stop was requested before the last step
    model: TinyTransformer | None = None  # set on the final event
    tokenizer: PreTrainedTokenizerFast | None = None  # set on the final event

    def describe(self) -> list[str]:
        """The event as short phrases ("train loss 3.742", ...) for a log line or a status bar."""
        parts = [f"step {self.step}/{self.steps}"]
        if self.train_loss is not None:
            parts.append(f"train loss {self.train_loss:.3f}")
        if self.val_loss is not None:
            parts.append(f"validation loss {self.val_loss:.3f}")
        parts += [f"{k.replace('_', ' ')} {v:.1%}" for k, v in self.metrics.items()]
        parts.append(f"{self.tokens_per_s:,.0f} tokens/s · {self.elapsed:.1f} s")
        return parts

    def summary(self) -> dict:
        keep = ("step", "steps", "train_loss", "val_loss", "metrics", "tokens_per_s", "elapsed", "lr")
        return {k: v for k, v in asdict(self).items() if k in keep}


def build_tokenizer(cfg: TrainConfig, text: str) -> PreTrainedTokenizerFast:
    if cfg.tokenizer in data.TOKENIZER_KINDS:
        return data.train_tokenizer(text, cfg.tokenizer, cfg.vocab_size)
    path = Path(cfg.tokenizer)
    if path.suffix == ".json":
        return PreTrainedTokenizerFast(tokenizer_file=str(path), **data.BERT_SPECIALS)
    return PreTrainedTokenizerFast.from_pretrained(path)


def model_config(cfg: TrainConfig, tokenizer: PreTrainedTokenizerFast) -> TinyConfig:
    masked = cfg.objective != "clm"
    return TinyConfig(
        vocab_size=len(tokenizer),
        context_length=cfg.context_length,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        dropout=cfg.dropout,
        causal=not masked,
        positions=cfg.positions,
        heads=("mlm", "nsp") if cfg.objective == "mlm-nsp" else ("mlm",) if masked else ("lm",),
        type_vocab_size=2 if masked else 0,
        pad_token_id=tokenizer.pad_token_id,
    )


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr * min_lr_ratio at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(progress, 1.0)))


class BatchSource:
    """Seeded batches of the chosen objective, for the train or the validation split."""

    def __init__(self, cfg: TrainConfig, tokenizer: PreTrainedTokenizerFast, text: str, seed: int):
        self.cfg = cfg
        self.gen = torch.Generator().manual_seed(seed)
        self.collator = data.masker(tokenizer, seed) if cfg.objective != "clm" else None
        if cfg.objective == "mlm-nsp":
            self.pairs = data.SentencePairs(text, tokenizer)
        else:
            self.stream = data.encode_corpus(tokenizer, text)
            if len(self.stream) <= cfg.context_length + 1:
                raise ValueError(
                    f"the text is {len(self.stream)} tokens long; it needs more than the context of "
                    f"{cfg.context_length} tokens (add text or shorten the context)"
                )

    def next(self) -> data.Batch:
        c = self.cfg
        if c.objective == "clm":
            return data.causal_batch(self.stream, c.batch_size, c.context_length, self.gen)
        if c.objective == "mlm":
            return data.mlm_batch(self.stream, c.batch_size, c.context_length, self.gen, self.collator)
        return data.nsp_batch(self.pairs, c.batch_size, c.context_length, self.gen, self.collator)


def _forward(model, batch: data.Batch):
    return model(
        batch.input_ids,
        attention_mask=batch.attention_mask,
        token_type_ids=batch.token_type_ids,
        targets=batch.targets,
        nsp_labels=batch.nsp_labels,
    )


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


@torch.no_grad()
def evaluate(model, source: BatchSource, n_batches: int, device: torch.device) -> tuple[float, dict]:
    """Mean validation loss over a fixed set of batches, plus masked-token and NSP accuracy."""
    was_training = model.training
    model.eval()
    source.gen.manual_seed(source.cfg.seed + 1)  # the same validation batches at every evaluation
    if source.collator is not None:
        source.collator.generator.manual_seed(source.cfg.seed + 1)
    losses, hits, counts, nsp_hits, nsp_counts = [], 0, 0, 0, 0
    for _ in range(n_batches):
        batch = source.next().to(device)
        with _autocast(device):
            out = _forward(model, batch)
        losses.append(out.loss.float())
        if source.cfg.objective != "clm":
            scored = batch.targets != -100
            hits += (out.picked_logits.argmax(-1) == batch.targets[scored]).sum()
            counts += scored.sum()
        if out.seq_relationship_logits is not None:
            nsp_hits += (out.seq_relationship_logits.argmax(-1) == batch.nsp_labels).sum()
            nsp_counts += len(batch.nsp_labels)
    model.train(was_training)
    metrics = {}
    if counts:
        metrics["masked_accuracy"] = float(hits) / float(counts)
    if nsp_counts:
        metrics["nsp_accuracy"] = float(nsp_hits) / nsp_counts
    return float(torch.stack(losses).mean()), metrics


@torch.no_grad()
def sample_text(model, tokenizer, objective: str, prompt: str, device: torch.device, seed: int) -> str:
    """A short look at what the model has learnt: a continuation, or a fill-in of masked words."""
    was_training = model.training
    model.eval()
    try:
        if objective == "clm":
            ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids.to(device)
            gen = torch.Generator(device=device).manual_seed(seed)
            out = model.generate(ids[:, -model.config.context_length // 2 :], 48, temperature=0.8, top_k=40, generator=gen)
            return tokenizer.decode(out[0].tolist())
        enc = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=model.config.context_length).to(device)
        logits = model(enc.input_ids, attention_mask=enc.attention_mask).logits
        ids = enc.input_ids[0].tolist()
        for pos in (enc.input_ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist():
            ids[pos] = int(logits[0, pos].argmax())
        return f"{prompt}\n→ {tokenizer.decode(ids, skip_special_tokens=True)}"
    finally:
        model.train(was_training)


def default_probe(objective: str, val_text: str) -> str:
    """The text to sample from: the start of a validation line, or one with a word masked."""
    lines = val_text.splitlines()[1:]  # the first line may start mid-word, where the split cut it
    line = next((l for l in lines if len(l.split()) >= 5), "the quick brown fox jumps over the lazy dog")
    words = line.split()
    if objective == "clm":
        return " ".join(words[:3])
    words[len(words) // 2] = "[MASK]"
    return " ".join(words)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices (weights, embeddings); leave biases and LayerNorm gains alone."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(
    cfg: TrainConfig,
    text: str,
    should_stop: Callable[[], bool] = lambda: False,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> Iterator[Progress]:
    """Pretrain a fresh TinyTransformer on `text`; yields Progress events, the last with the model."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_text, val_text = data.split_train_val(text)
    tokenizer = tokenizer or build_tokenizer(cfg, train_text)
    tokenizer.model_max_length = cfg.context_length
    train_src = BatchSource(cfg, tokenizer, train_text, cfg.seed)
    val_src = BatchSource(cfg, tokenizer, val_text, cfg.seed + 1)
    probe = default_probe(cfg.objective, val_text)

    torch.manual_seed(cfg.seed)
    model = TinyTransformer(model_config(cfg, tokenizer)).to(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.95), fused=cuda)
    step_fn = torch.compile(model) if cfg.compile else model

    model.train()
    start = time.perf_counter()
    tokens = 0
    window_start, window_tokens = start, 0
    loss_sum = torch.zeros((), device=device)  # summed on device; read back only at log points
    loss_n = 0
    step = 0
    event = None
    for step in range(1, cfg.steps + 1):
        if should_stop():
            step -= 1
            break
        lr = lr_at(step - 1, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = train_src.next().to(device)
        with _autocast(device):
            out = _forward(step_fn, batch)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        loss_sum += out.loss.detach().float()
        loss_n += 1
        tokens += batch.n_tokens()
        window_tokens += batch.n_tokens()

        last = step == cfg.steps
        if step % cfg.log_every == 0 or step % cfg.eval_every == 0 or last:
            now = time.perf_counter()
            event = Progress(step, cfg.steps, float(loss_sum) / loss_n, lr=lr, elapsed=now - start)
            event.tokens_per_s = window_tokens / max(now - window_start, 1e-9)
            loss_sum.zero_()
            loss_n, window_start, window_tokens = 0, now, 0
            if step % cfg.eval_every == 0 or last:
                event.val_loss, event.metrics = evaluate(model, val_src, cfg.eval_batches, device)
                event.sample = sample_text(model, tokenizer, cfg.objective, probe, device, cfg.seed)
                window_start = time.perf_counter()  # evaluation time is not training throughput
            yield event

    model.eval()
    if event is None or event.step != step or event.val_loss is None:  # stopped between evaluations
        event = Progress(step, cfg.steps)
        event.val_loss, event.metrics = evaluate(model, val_src, cfg.eval_batches, device)
    yield Progress(
        step,
        cfg.steps,
        train_loss=event.train_loss,
        val_loss=event.val_loss,
        metrics=event.metrics,
        tokens_per_s=tokens / max(time.perf_counter() - start, 1e-9),
        elapsed=time.perf_counter() - start,
        sample=sample_text(model, tokenizer, cfg.objective, probe, device, cfg.seed),
        done=True,
        stopped=step < cfg.steps,
        model=model,
        tokenizer=tokenizer,
    )
